import Hummingbird
import NIOCore
import SheetSyncCore

/// The built-in demo shop: a small order-management API plus a webhook receiver,
/// served on 127.0.0.1. `sheetsync demo` syncs from it; the tests use it as a real
/// server.
///
/// | route | |
/// |---|---|
/// | `GET /v1/orders?status=&updated_since=&page=&per_page=` | orders with customer and line items |
/// | `GET /v1/orders/{id}` | one order |
/// | `GET /v1/customers?page=&per_page=` | customers |
/// | `POST /hooks/**` (any path) | webhook receiver: records the delivery, answers `{"id": "erp-N"}` |
/// | `GET /_demo/received` | what the webhook receiver got |
///
/// Every `/v1` route needs `Authorization: Bearer <token>`.
public struct DemoShop: Sendable {
    public let data: DemoShopData
    public let receiver = WebhookReceiver()

    public init(_ configuration: DemoShopData.Configuration = .init()) {
        self.data = DemoShopData(configuration)
    }

    /// Starts the shop on 127.0.0.1 (port 0: chosen by the OS).
    public func start(port: Int = 0) async throws -> LoopbackServer {
        try await LoopbackServer.start(router(), port: port)
    }

    public func router() -> Router<BasicRequestContext> {
        let router = Router()
        let data = self.data
        let receiver = self.receiver
        let token = data.configuration.token

        router.get("/v1/orders") { request, _ -> Response in
            if let denied = Self.checkToken(request, token) { return denied }
            let query = request.uri.queryParameters
            var selected = Array(zip(data.orders, data.updatedAt))
            if let status = query.get("status"), !status.isEmpty, status != "any" {
                guard DemoShopData.statuses.contains(status) else {
                    return Self.error(.badRequest, "invalid_status", "unknown status '\(status)'; use one of \(DemoShopData.statuses.joined(separator: ", ")) or 'any'")
                }
                selected = selected.filter { $0.0["status"] == .string(status) }
            }
            if let since = query.get("updated_since"), !since.isEmpty {
                guard let instant = UTCDateTime(iso: since) else {
                    return Self.error(.badRequest, "invalid_updated_since", "updated_since must be an ISO-8601 date-time")
                }
                selected = selected.filter { $0.1 >= instant }
            }
            return Self.page(selected.map(\.0), query: query)
        }
        router.get("/v1/orders/:id") { request, context -> Response in
            if let denied = Self.checkToken(request, token) { return denied }
            let id = context.parameters.get("id") ?? ""
            guard let order = data.orders.first(where: { $0["id"] == .string(id) }) else {
                return Self.error(.notFound, "not_found", "no order '\(id)'")
            }
            return Self.json(order)
        }
        router.get("/v1/customers") { request, _ -> Response in
            if let denied = Self.checkToken(request, token) { return denied }
            return Self.page(data.customers, query: request.uri.queryParameters)
        }
        router.post("/hooks/**") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 16 << 20)
            let number = await receiver.record(WebhookReceiver.Delivery(
                method: request.method.rawValue, path: request.uri.path,
                headers: request.headers.map { ($0.name.canonicalName, $0.value) },
                body: String(buffer: body)))
            return Self.json(.object(JSONObject(["id": .string("erp-\(number)"), "received": .bool(true)])))
        }
        router.get("/_demo/received") { _, _ -> Response in
            let deliveries = await receiver.deliveries
            return Self.json(.array(deliveries.map { delivery in
                .object(JSONObject([
                    "method": .string(delivery.method), "path": .string(delivery.path), "body": .string(delivery.body),
                    "headers": .object(JSONObject(delivery.headers.map { JSONObject.Member(key: $0.0, value: .string($0.1)) })),
                ]))
            }))
        }
        return router
    }

    // MARK: - Helpers

    static func checkToken(_ request: Request, _ token: String) -> Response? {
        guard request.headers[.authorization] == "Bearer \(token)" else {
            return error(.unauthorized, "unauthorized", "missing or wrong bearer token; send 'Authorization: Bearer <token>'")
        }
        return nil
    }

    static func page(_ all: [JSONValue], query: Parameters) -> Response {
        let perPage = min(500, max(1, query.get("per_page").flatMap { Int($0) } ?? 100))
        let page = max(1, query.get("page").flatMap { Int($0) } ?? 1)
        let start = min(all.count, (page - 1) * perPage)
        let end = min(all.count, start + perPage)
        let totalPages = (all.count + perPage - 1) / perPage
        return json(.object(JSONObject([
            "data": .array(Array(all[start..<end])),
            "page": .number(String(page)),
            "per_page": .number(String(perPage)),
            "total": .number(String(all.count)),
            "total_pages": .number(String(totalPages)),
            "has_more": .bool(end < all.count),
        ])))
    }

    static func json(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: value.jsonText)))
    }

    static func error(_ status: HTTPResponse.Status, _ code: String, _ message: String) -> Response {
        json(.object(JSONObject(["error": .object(JSONObject(["code": .string(code), "message": .string(message)]))])), status: status)
    }
}
