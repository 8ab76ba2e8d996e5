import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore

/// A Hummingbird server on 127.0.0.1 with a port chosen by the OS, running in a task
/// of this process until `stop()`. Used by `sheetsync demo` and by the tests.
public final class LoopbackServer: Sendable {
    public let port: Int
    private let task: Task<Void, any Error>

    /// `http://127.0.0.1:PORT` (or `https://` for a TLS server).
    public let baseURL: String

    private init(port: Int, scheme: String, task: Task<Void, any Error>) {
        self.port = port
        self.task = task
        self.baseURL = "\(scheme)://127.0.0.1:\(port)"
    }

    /// Starts `router` and returns once the server accepts connections.
    public static func start<Builder: HTTPResponderBuilder>(
        _ router: Builder, server: HTTPServerBuilder = .http1(), scheme: String = "http", port: Int = 0
    ) async throws -> LoopbackServer where Builder.Responder.Context: RequestContext, Builder.Responder.Context.Source == ApplicationRequestContextSource {
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        var logger = Logger(label: "sheetsync.demo")
        logger.logLevel = .critical  // cancellation on stop is logged as an error by the server; it is expected here
        let app = Application(
            router: router,
            server: server,
            configuration: .init(address: .hostname("127.0.0.1", port: port)),
            onServerRunning: { channel in
                continuation.yield(channel.localAddress?.port ?? 0)
                continuation.finish()
            },
            logger: logger
        )
        // A server that cannot bind ends its task: the stream ends with it (it used to wait forever).
        let task = Task {
            defer { continuation.finish() }
            try await app.run()
        }
        var iterator = ports.makeAsyncIterator()
        guard let bound = await iterator.next(), bound > 0 else {
            task.cancel()
            if case .failure(let error as IOError) = await task.result, error.errnoCode == EADDRINUSE {
                throw DemoError("port \(port) on 127.0.0.1 is already in use; choose another with --port (0 picks a free one)")
            }
            throw DemoError("the server on 127.0.0.1:\(port) did not start")
        }
        return LoopbackServer(port: bound, scheme: scheme, task: task)
    }

    /// Stops the server and waits until it has closed.
    public func stop() async {
        task.cancel()
        _ = await task.result
    }

    /// Runs until the task running it is cancelled (Ctrl-C in `sheetsync demo serve`).
    public func wait() async {
        _ = await task.result
    }
}

/// A problem starting or running the demo.
public struct DemoError: Error, CustomStringConvertible, Sendable {
    public var description: String

    public init(_ description: String) {
        self.description = description
    }
}
