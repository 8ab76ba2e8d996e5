import SheetSyncHTTP

/// Runs `body` with a transport of its own and shuts the transport down when `body`
/// returns or throws (an HTTP client must be shut down before it is released).
public func withTransport<Value>(
    proxy: HTTPTransport.Proxy? = nil, spillBytes: Int = HTTPTransport.defaultSpillBytes,
    _ body: (HTTPTransport) async throws -> Value
) async throws -> Value {
    let transport = HTTPTransport(proxy: proxy, spillBytes: spillBytes)
    do {
        let value = try await body(transport)
        await transport.shutdown()
        return value
    } catch {
        await transport.shutdown()
        throw error
    }
}
