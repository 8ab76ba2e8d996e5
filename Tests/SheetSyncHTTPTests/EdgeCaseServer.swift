import Foundation
import Hummingbird
import NIOCore
import SheetSyncCore
import SheetSyncDemo

/// A loopback server with the awkward behaviours real APIs have, for the HTTP tests.
///
/// - `/echo` (any method): answers with what arrived: method, path, query, headers
///   and the body in base64, so tests can compare byte for byte.
/// - `/status/:code`: answers that status with `{"error": {"code": "E<code>", "message": …}}`.
/// - `/slow/:ms`: answers after a delay (GET counts as hit `slow-get`, POST and PUT as
///   `slow-post` and `slow-put`).
/// - `POST /status/:code`: like `GET /status/:code`, counted as hit `post-status-<code>`.
/// - `/flaky/:key`: 429 with `Retry-After: 1` the first time for each key, then 200.
/// - `/always503`: 503, always.
/// - `/big/:bytes`: a body of that many bytes.
/// - `/redirect?to=URL&status=302`: a redirect.
/// - `/hits/:key`: how many times `/flaky/:key` was called.
/// - `/answer?status=401&body=TEXT`: that status with that body (a server echoing what it got).
actor HitCounter {
    var counts: [String: Int] = [:]
    func hit(_ key: String) -> Int {
        counts[key, default: 0] += 1
        return counts[key]!
    }
    func count(_ key: String) -> Int { counts[key] ?? 0 }
}

enum EdgeCaseServer {
    static func router(hits: HitCounter = HitCounter()) -> Router<BasicRequestContext> {
        let router = Router()
        let echo: @Sendable (Request, BasicRequestContext) async throws -> Response = { request, _ in
            let body = try await request.body.collect(upTo: 64 << 20)
            let bytes = Data(buffer: body)
            let headers = request.headers.map { JSONValue.array([.string($0.name.canonicalName), .string($0.value)]) }
            let value = JSONValue.object(JSONObject([
                "method": .string(request.method.rawValue),
                "path": .string(request.uri.path),
                "query": .string(request.uri.query ?? ""),
                "headers": .array(headers),
                "body": .string(bytes.base64EncodedString()),
            ]))
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: value.jsonText)))
        }
        for method in [HTTPRequest.Method.get, .post, .put, .patch, .delete, .head] {
            router.on("/echo", method: method, use: echo)
        }
        router.get("/status/:code") { _, context -> Response in
            let code = Int(context.parameters.get("code") ?? "500") ?? 500
            let body = #"{"error": {"code": "E\#(code)", "message": "status \#(code) as asked"}}"#
            return Response(status: .init(code: code), headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: body)))
        }
        let slow: @Sendable (Request, BasicRequestContext) async throws -> Response = { request, context in
            _ = await hits.hit("slow-" + request.method.rawValue.lowercased())
            let ms = Int(context.parameters.get("ms") ?? "0") ?? 0
            try await Task.sleep(for: .milliseconds(ms))
            return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: "{}")))
        }
        router.get("/slow/:ms", use: slow)
        router.post("/slow/:ms", use: slow)
        router.put("/slow/:ms", use: slow)
        router.post("/status/:code") { _, context -> Response in
            let code = Int(context.parameters.get("code") ?? "500") ?? 500
            _ = await hits.hit("post-status-\(code)")
            return Response(status: .init(code: code), headers: [.contentType: "application/json"],
                            body: .init(byteBuffer: ByteBuffer(string: #"{"error": {"code": "E\#(code)"}}"#)))
        }
        router.get("/flaky/:key") { _, context -> Response in
            let key = context.parameters.get("key") ?? ""
            if await hits.hit(key) == 1 {
                return Response(status: .tooManyRequests, headers: [.retryAfter: "1"], body: .init(byteBuffer: ByteBuffer(string: "slow down")))
            }
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: #"{"ok": true}"#)))
        }
        router.get("/always503") { _, _ -> Response in
            _ = await hits.hit("always503")
            return Response(status: .serviceUnavailable, body: .init(byteBuffer: ByteBuffer(string: "down")))
        }
        router.get("/hits/:key") { _, context -> Response in
            Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: String(await hits.count(context.parameters.get("key") ?? "")))))
        }
        router.get("/big/:bytes") { _, context -> Response in
            let size = Int(context.parameters.get("bytes") ?? "0") ?? 0
            return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(repeating: UInt8(ascii: "x"), count: size)))
        }
        router.get("/big-chunked/:bytes") { _, context -> Response in
            let size = Int(context.parameters.get("bytes") ?? "0") ?? 0
            return Response(status: .ok, body: ResponseBody { writer in
                var left = size
                while left > 0 {
                    let chunk = min(left, 65_536)
                    try await writer.write(ByteBuffer(repeating: UInt8(ascii: "y"), count: chunk))
                    left -= chunk
                }
                try await writer.finish(nil)
            })
        }
        let redirect: @Sendable (Request, BasicRequestContext) async throws -> Response = { request, _ in
            let to = request.uri.queryParameters.get("to") ?? "/echo"
            let status = Int(request.uri.queryParameters.get("status") ?? "302") ?? 302
            return Response(status: .init(code: status), headers: [.location: to])
        }
        router.get("/answer") { request, _ -> Response in
            let status = Int(request.uri.queryParameters.get("status") ?? "400") ?? 400
            let body = request.uri.queryParameters.get("body") ?? ""
            return Response(status: .init(code: status), headers: [.contentType: "text/plain"], body: .init(byteBuffer: ByteBuffer(string: body)))
        }
        router.get("/redirect", use: redirect)
        router.get("/loop") { _, _ -> Response in Response(status: .found, headers: [.location: "/loop"]) }
        router.post("/redirect", use: redirect)
        return router
    }
}
