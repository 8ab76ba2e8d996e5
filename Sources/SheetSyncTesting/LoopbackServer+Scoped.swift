import Hummingbird
import HummingbirdCore
import SheetSyncDemo

/// Runs `body` against `router` served on 127.0.0.1 (a port chosen by the OS) and stops
/// the server when `body` returns or throws, so a failing test never leaves one running.
///
/// Modelled on HummingbirdTesting's live test framework.
public func withLoopbackServer<Builder: HTTPResponderBuilder, Value>(
    _ router: Builder, server: HTTPServerBuilder = .http1(), scheme: String = "http",
    _ body: (LoopbackServer) async throws -> Value
) async throws -> Value where Builder.Responder.Context: RequestContext, Builder.Responder.Context.Source == ApplicationRequestContextSource {
    let loopback = try await LoopbackServer.start(router, server: server, scheme: scheme)
    do {
        let value = try await body(loopback)
        await loopback.stop()
        return value
    } catch {
        await loopback.stop()
        throw error
    }
}
