import Hummingbird
import NIOCore
import SheetSyncCore

/// The built-in demo shop: a small order-management API plus a webhook receiver,
/// served on 127.0.0.1. `sheetsync demo` syncs from it; the tests use it as a real
/// server.
///
/// | route | |
/// |---|---|
/// | `GET /v1/orders?status=&updated_since=&updated_before=&page=&per_page=` (or `offset=&limit=`) | orders with customer and line items |
/// | `POST /v1/orders/search` | the same, with a JSON body `{"status", "updated_since", "page", "per_page"}` |
/// | `GET /v2/orders?after=&limit=` | cursor pagination: `next_cursor` in the body |
/// | `GET /v3/orders?page=&per_page=` | bare arrays, next page in the `Link` header |
/// | `POST /_demo/touch?count=N` | changes N orders (status and `updated_at`) |
/// | `GET /v1/orders/{id}` | one order |
/// | `GET /v1/customers?page=&per_page=` | customers |
/// | `POST /hooks/**` (any path) | webhook receiver: records the delivery, answers `{"id": "erp-N"}` |
/// | `GET /_demo/received` | what the webhook receiver got |
///
/// Every `/v1` route needs `Authorization: Bearer <token>`.
public struct DemoShop: Sendable {
    public let data: DemoShopData
    public let receiver: WebhookReceiver
    /// The live orders: `POST /_demo/touch` changes some, as a real shop would.
    public let book: OrderBook

    public init(_ configuration: DemoShopData.Configuration = .init(), webhookFailureRate: Double = 0) {
        self.data = DemoShopData(configuration)
        self.receiver = WebhookReceiver(failureRate: webhookFailureRate, seed: configuration.seed)
        self.book = OrderBook(data)
    }

    /// Starts the shop on 127.0.0.1 (port 0: chosen by the OS).
    public func start(port: Int = 0) async throws -> LoopbackServer {
        try await LoopbackServer.start(router(), port: port)
    }

    /// The demo shop's routes, one after the other: a route table reads best whole.
    public func router() -> Router<BasicRequestContext> {
        let router = Router()
        let data = self.data
        let book = self.book
        let receiver = self.receiver
        let token = data.configuration.token

        // v1: page numbers (page/per_page, or offset/limit), with total, total_pages and has_more.
        router.get("/v1/orders") { request, _ -> Response in
            if let denied = Self.checkToken(request, token) { return denied }
            let query = request.uri.queryParameters
            switch await Self.filter(book, status: query.get("status"), updatedSince: query.get("updated_since"), updatedBefore: query.get("updated_before")) {
            case .failure(let failure): return failure.response
            case .success(let orders):
                if let offset = query.get("offset").flatMap({ Int($0) }) {
                    return Self.offsetPage(orders, offset: offset, limit: query.get("limit").flatMap { Int($0) } ?? 100)
                }
                return Self.page(orders, query: query)
            }
        }
        // The same list, searched with POST and a JSON body: {"status", "updated_since", "page", "per_page"}.
        router.post("/v1/orders/search") { request, _ -> Response in
            if let denied = Self.checkToken(request, token) { return denied }
            let body = try await request.body.collect(upTo: 1 << 20)
            guard let search = try? JSONReader.parse(Array(buffer: body)), case .object = search else {
                return Self.error(.badRequest, "invalid_body", "send a JSON object such as {\"page\": 1, \"per_page\": 100}")
            }
            func text(_ key: String) -> String? {
                switch search[key] {
                case .string(let s)?: s
                case .number(let n)?: n
                default: nil
                }
            }
            switch await Self.filter(book, status: text("status"), updatedSince: text("updated_since")) {
            case .failure(let failure): return failure.response
            case .success(let orders):
                return Self.page(orders, page: text("page").flatMap { Int($0) } ?? 1, perPage: text("per_page").flatMap { Int($0) } ?? 100)
            }
        }
        // v2: cursor pagination: ?after=TOKEN&limit=N → {"data": […], "next_cursor": "…" or null}.
        router.get("/v2/orders") { request, _ -> Response in
            if let denied = Self.checkToken(request, token) { return denied }
            let query = request.uri.queryParameters
            switch await Self.filter(book, status: query.get("status"), updatedSince: query.get("updated_since"), updatedBefore: query.get("updated_before")) {
            case .failure(let failure): return failure.response
            case .success(let orders):
                let limit = min(500, max(1, query.get("limit").flatMap { Int($0) } ?? 100))
                var start = 0
                if let after = query.get("after"), !after.isEmpty {
                    guard let index = orders.firstIndex(where: { $0["id"] == .string(String(after.dropFirst(2))) }), after.hasPrefix("c_") else {
                        return Self.error(.badRequest, "invalid_cursor", "unknown cursor '\(after)'")
                    }
                    start = index + 1
                }
                let end = min(orders.count, start + limit)
                let slice = Array(orders[start..<end])
                let next: JSONValue = end < orders.count ? slice.last.flatMap { order in
                    if case .string(let id)? = order["id"] { return .string("c_" + id) }
                    return nil
                } ?? .null : .null
                return Self.json(.object(JSONObject(["data": .array(slice), "next_cursor": next])))
            }
        }
        // v3: a bare JSON array per page, next pages in the Link header (RFC 8288).
        router.get("/v3/orders") { request, _ -> Response in
            if let denied = Self.checkToken(request, token) { return denied }
            let query = request.uri.queryParameters
            switch await Self.filter(book, status: query.get("status"), updatedSince: query.get("updated_since"), updatedBefore: query.get("updated_before")) {
            case .failure(let failure): return failure.response
            case .success(let orders):
                let perPage = min(500, max(1, query.get("per_page").flatMap { Int($0) } ?? 100))
                let page = max(1, query.get("page").flatMap { Int($0) } ?? 1)
                let start = min(orders.count, (page - 1) * perPage)
                let end = min(orders.count, start + perPage)
                let last = max(1, (orders.count + perPage - 1) / perPage)
                func link(_ number: Int) -> String { "</v3/orders?page=\(number)&per_page=\(perPage)>" }
                var links = ["\(link(1)); rel=\"first\"", "\(link(last)); rel=\"last\""]
                if page > 1 { links.append("\(link(page - 1)); rel=\"prev\"") }
                if end < orders.count { links.insert("\(link(page + 1)); rel=\"next\"", at: 0) }
                var response = Self.json(.array(Array(orders[start..<end])))
                response.headers[.init("Link")!] = links.joined(separator: ", ")
                return response
            }
        }
        router.get("/v1/orders/:id") { request, context -> Response in
            if let denied = Self.checkToken(request, token) { return denied }
            let id = context.parameters.get("id") ?? ""
            guard let order = await book.orders.first(where: { $0["id"] == .string(id) }) else {
                return Self.error(.notFound, "not_found", "no order '\(id)'")
            }
            return Self.json(order)
        }
        router.get("/v1/customers") { request, _ -> Response in
            if let denied = Self.checkToken(request, token) { return denied }
            return Self.page(data.customers, query: request.uri.queryParameters)
        }
        // Changes the next N orders (status moves on, updated_at becomes later than any before).
        router.post("/_demo/touch") { request, _ -> Response in
            let count = request.uri.queryParameters.get("count").flatMap { Int($0) } ?? 1
            let touched = await book.touch(count)
            return Self.json(.object(JSONObject(["touched": .array(touched.map(JSONValue.string))])))
        }
        router.post("/hooks/**") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 16 << 20)
            let (number, status) = await receiver.record(WebhookReceiver.Delivery(
                method: request.method.rawValue, path: request.uri.path,
                headers: request.headers.map { ($0.name.canonicalName, $0.value) },
                body: String(buffer: body)))
            guard status == 200 else { return Self.error(.internalServerError, "receiver_failure", "the demo receiver failed on purpose (--fail-rate)") }
            return Self.json(.object(JSONObject(["id": .string("erp-\(number)"), "received": .bool(true)])))
        }
        router.get("/_demo/received") { _, _ -> Response in
            let deliveries = await receiver.deliveries
            return Self.json(.array(deliveries.map { delivery in
                .object(JSONObject([
                    "method": .string(delivery.method), "path": .string(delivery.path), "body": .string(delivery.body),
                    "status": .number(String(delivery.status)),
                    "headers": .object(JSONObject(delivery.headers.map { JSONObject.Member(key: $0.0, value: .string($0.1)) })),
                ]))
            }))
        }
        return router
    }

    static func filter(_ book: OrderBook, status: String?, updatedSince: String?, updatedBefore: String? = nil) async -> Result<[JSONValue], ErrorResponse> {
        var selected = await book.entries
        if let status, !status.isEmpty, status != "any" {
            guard DemoShopData.statuses.contains(status) else {
                return .failure(ErrorResponse(error(.badRequest, "invalid_status", "unknown status '\(status)'; use one of \(DemoShopData.statuses.joined(separator: ", ")) or 'any'")))
            }
            selected = selected.filter { $0.order["status"] == .string(status) }
        }
        if let since = updatedSince, !since.isEmpty {
            guard let instant = UTCDateTime(iso: since) else {
                return .failure(ErrorResponse(error(.badRequest, "invalid_updated_since", "updated_since must be an ISO-8601 date-time")))
            }
            selected = selected.filter { $0.updatedAt >= instant }
        }
        if let before = updatedBefore, !before.isEmpty {
            guard let instant = UTCDateTime(iso: before) else {
                return .failure(ErrorResponse(error(.badRequest, "invalid_updated_before", "updated_before must be an ISO-8601 date-time")))
            }
            selected = selected.filter { $0.updatedAt < instant }
        }
        return .success(selected.map(\.order))
    }

    struct ErrorResponse: Error {
        var response: Response
        init(_ response: Response) { self.response = response }
    }

    // MARK: - Helpers

    static func checkToken(_ request: Request, _ token: String) -> Response? {
        guard request.headers[.authorization] == "Bearer \(token)" else {
            return error(.unauthorized, "unauthorized", "missing or wrong bearer token; send 'Authorization: Bearer <token>'")
        }
        return nil
    }

    static func page(_ all: [JSONValue], query: Parameters) -> Response {
        page(all, page: query.get("page").flatMap { Int($0) } ?? 1, perPage: query.get("per_page").flatMap { Int($0) } ?? 100)
    }

    static func offsetPage(_ all: [JSONValue], offset: Int, limit: Int) -> Response {
        let limit = min(500, max(1, limit))
        let start = min(all.count, max(0, offset))
        let end = min(all.count, start + limit)
        return json(.object(JSONObject([
            "data": .array(Array(all[start..<end])), "offset": .number(String(start)), "limit": .number(String(limit)),
            "total": .number(String(all.count)),
        ])))
    }

    static func page(_ all: [JSONValue], page: Int, perPage: Int) -> Response {
        let perPage = min(500, max(1, perPage))
        let page = max(1, page)
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
