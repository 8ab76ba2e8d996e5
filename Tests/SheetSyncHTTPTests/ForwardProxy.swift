import Foundation
import NIOCore
import NIOPosix

/// A tiny HTTP CONNECT proxy for tests (AsyncHTTPClient tunnels through proxies
/// with CONNECT, for http and https alike). It logs each tunnel's target and
/// `Proxy-Authorization` header, then copies bytes both ways. With `requiring`, a
/// tunnel whose `Proxy-Authorization` is not that value gets `407 Proxy Authentication
/// Required`, as a real proxy answers wrong credentials.
actor ProxyLog {
    var requests: [(target: String, authorization: String?)] = []
    func record(_ target: String, _ authorization: String?) { requests.append((target, authorization)) }
}

final class ConnectProxy: @unchecked Sendable {
    let channel: any Channel
    var port: Int { channel.localAddress?.port ?? 0 }

    init(log: ProxyLog, requiring authorization: String? = nil) async throws {
        channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(ConnectHandler(log: log, requiring: authorization)) }
            }
            .bind(host: "127.0.0.1", port: 0).get()
    }

    func stop() async {
        try? await channel.close()
    }
}

/// Runs `body` with a CONNECT proxy on 127.0.0.1 that logs to `log`, and closes the
/// proxy when `body` returns or throws.
func withConnectProxy<Value>(log: ProxyLog, requiring authorization: String? = nil,
                             _ body: (ConnectProxy) async throws -> Value) async throws -> Value {
    let proxy = try await ConnectProxy(log: log, requiring: authorization)
    do {
        let value = try await body(proxy)
        await proxy.stop()
        return value
    } catch {
        await proxy.stop()
        throw error
    }
}

/// Reads the CONNECT request, opens the tunnel, then steps aside.
final class ConnectHandler: ChannelInboundHandler, RemovableChannelHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let log: ProxyLog
    let required: String?
    var buffered = ByteBuffer()
    var connecting = false

    init(log: ProxyLog, requiring authorization: String? = nil) {
        self.log = log
        self.required = authorization
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        buffered.writeBuffer(&incoming)
        guard !connecting, let text = buffered.getString(at: buffered.readerIndex, length: buffered.readableBytes),
              let end = text.range(of: "\r\n\r\n") else { return }
        connecting = true
        let head = String(text[..<end.lowerBound])
        buffered.moveReaderIndex(forwardBy: text[..<end.upperBound].utf8.count)
        let lines = head.components(separatedBy: "\r\n")
        let parts = lines[0].split(separator: " ")
        guard parts.count == 3, parts[0] == "CONNECT" else {
            context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: "HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")), promise: nil)
            context.close(promise: nil)
            return
        }
        let target = String(parts[1])
        let authorization = lines.dropFirst().first { $0.lowercased().hasPrefix("proxy-authorization:") }
            .map { String($0.dropFirst("proxy-authorization:".count)).trimmingCharacters(in: .whitespaces) }
        let log = self.log
        Task { await log.record(target, authorization) }
        if let required, authorization != required {
            context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: "HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"test\"\r\nContent-Length: 0\r\n\r\n")), promise: nil)
            context.close(promise: nil)
            return
        }
        let hostPort = target.split(separator: ":")
        let host = String(hostPort[0])
        let port = Int(hostPort.last ?? "80") ?? 80
        let client = context.channel
        let loopBoundContext = NIOLoopBound(context, eventLoop: context.eventLoop)
        ClientBootstrap(group: context.eventLoop).connect(host: host, port: port).whenComplete { result in
            let context = loopBoundContext.value
            switch result {
            case .failure:
                context.writeAndFlush(self.wrapOutboundOut(ByteBuffer(string: "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")), promise: nil)
                context.close(promise: nil)
            case .success(let server):
                let (ours, theirs) = GlueHandler.matchedPair()
                do {
                    try client.pipeline.syncOperations.addHandler(ours)
                    try server.pipeline.syncOperations.addHandler(theirs)
                } catch {
                    context.close(promise: nil)
                    return
                }
                context.writeAndFlush(self.wrapOutboundOut(ByteBuffer(string: "HTTP/1.1 200 Connection Established\r\n\r\n")), promise: nil)
                if self.buffered.readableBytes > 0 { server.writeAndFlush(self.buffered, promise: nil) }
                context.pipeline.syncOperations.removeHandler(self, promise: nil)
            }
        }
    }
}

/// Joins two channels: what one reads, the other writes.
final class GlueHandler: ChannelDuplexHandler, @unchecked Sendable {
    typealias InboundIn = NIOAny
    typealias OutboundIn = NIOAny
    typealias OutboundOut = NIOAny

    private var partner: GlueHandler?
    private var context: ChannelHandlerContext?

    static func matchedPair() -> (GlueHandler, GlueHandler) {
        let first = GlueHandler(), second = GlueHandler()
        first.partner = second
        second.partner = first
        return (first, second)
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        partner = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let partner, let target = partner.context else { return }
        target.eventLoop.execute { target.write(data, promise: nil) }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        guard let target = partner?.context else { return }
        target.eventLoop.execute { target.flush() }
    }

    func channelInactive(context: ChannelHandlerContext) {
        guard let target = partner?.context else { return }
        target.eventLoop.execute { target.close(promise: nil) }
    }
}
