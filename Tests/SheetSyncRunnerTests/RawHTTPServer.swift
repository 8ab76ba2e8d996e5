import Foundation

/// A deliberately badly behaved HTTP server on 127.0.0.1, written on raw sockets so it
/// can do what a well-behaved framework will not: cut a body short, send headers and
/// then nothing, accept and never answer, send bytes that are not UTF-8.
final class RawHTTPServer: @unchecked Sendable {
    /// What to do with a request for a path: the raw bytes to send, then whether to
    /// hold the connection open (silently) instead of closing it.
    struct Behaviour: Sendable {
        var bytes: [UInt8]
        var hold: Bool = false
    }

    let port: UInt16
    private let listener: Int32
    private let behaviours: [String: Behaviour]
    private let lock = NSLock()
    private var held: [Int32] = []
    private var stopped = false
    private var requestsByPath: [String: Int] = [:]

    /// How many requests for `path` arrived (their head was read).
    func requests(_ path: String) -> Int {
        lock.lock()
        defer { lock.unlock() }
        return requestsByPath[path] ?? 0
    }

    init(_ behaviours: [String: Behaviour]) throws {
        self.behaviours = behaviours
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.listener = listener
        var reuse: Int32 = 1
        setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &reuse, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard bound == 0, listen(listener, 16) == 0 else { throw CocoaError(.fileWriteUnknown) }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) } }
        port = UInt16(bigEndian: address.sin_port)
        let thread = Thread { [self] in acceptLoop() }
        thread.start()
    }

    var baseURL: String { "http://127.0.0.1:\(port)" }

    private func acceptLoop() {
        while true {
            let connection = accept(listener, nil, nil)
            if connection < 0 { return }
            Thread { [self] in serve(connection) }.start()
        }
    }

    private func serve(_ connection: Int32) {
        // Read the request head (small requests only); a body that came with it is ignored.
        var request: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while !request.indices.dropLast(3).contains(where: { request[$0..<$0 + 4].elementsEqual([13, 10, 13, 10]) }) {
            let count = read(connection, &buffer, buffer.count)
            if count <= 0 { close(connection); return }
            request += buffer[0..<count]
        }
        let line = String(decoding: request.prefix { $0 != 13 }, as: UTF8.self)
        let path = line.split(separator: " ").dropFirst().first.map { String($0.split(separator: "?")[0]) } ?? "/"
        lock.lock()
        requestsByPath[path, default: 0] += 1
        lock.unlock()
        let behaviour = behaviours[path] ?? Behaviour(bytes: Array("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".utf8))
        var sent = 0
        while sent < behaviour.bytes.count {
            let count = behaviour.bytes[sent...].withUnsafeBytes { write(connection, $0.baseAddress, $0.count) }
            if count <= 0 { break }
            sent += count
        }
        if behaviour.hold {
            lock.lock()
            if stopped { lock.unlock(); close(connection); return }
            held.append(connection)
            lock.unlock()
        } else {
            shutdown(connection, Int32(SHUT_RDWR))
            close(connection)
        }
    }

    /// Closes the listener and every held connection.
    func stop() {
        lock.lock()
        stopped = true
        let connections = held
        held = []
        lock.unlock()
        for connection in connections { shutdown(connection, Int32(SHUT_RDWR)); close(connection) }
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    /// A complete response with the given head lines and body.
    static func response(_ status: String = "200 OK", headers: [String] = ["Content-Type: application/json"], body: [UInt8]) -> [UInt8] {
        let head = (["HTTP/1.1 \(status)"] + headers + ["Content-Length: \(body.count)", "Connection: close"]).joined(separator: "\r\n") + "\r\n\r\n"
        return Array(head.utf8) + body
    }
}

/// Runs `body` against a `RawHTTPServer` with `behaviours` and stops the server (its
/// listener and held connections) when `body` returns or throws.
func withRawHTTPServer<Value>(_ behaviours: [String: RawHTTPServer.Behaviour],
                              _ body: (RawHTTPServer) async throws -> Value) async throws -> Value {
    let server = try RawHTTPServer(behaviours)
    defer { server.stop() }
    return try await body(server)
}
