import Foundation
import Hummingbird
import NIOCore
import SheetSyncCore

/// A loopback API with 25 records (ids 1…25, `updated_at` one minute apart) behind
/// every pagination style, plus the broken behaviours pagination must survive.
enum PagedAPI {
    static let count = 25

    static func record(_ id: Int) -> JSONValue {
        .object(JSONObject([
            "id": .number(String(id)),
            "status": .string(id % 2 == 0 ? "paid" : "new"),
            "total": .string("\(id).50"),
            "meta": .object(JSONObject(["updated_at": .string(String(format: "2024-01-01T%02d:%02d:00Z", id / 60, id % 60))])),
        ]))
    }

    static func records(since: String?) -> [JSONValue] {
        let all = (1...count).map(record)
        guard let since, let instant = UTCDateTime(iso: since) else { return all }
        return all.filter { value in
            guard case .string(let text)? = value["meta"]?["updated_at"], let time = UTCDateTime(iso: text) else { return false }
            return time >= instant
        }
    }

    static func json(_ value: JSONValue, headers: HTTPFields = [:]) -> Response {
        var fields = headers
        fields[.contentType] = "application/json"
        return Response(status: .ok, headers: fields, body: .init(byteBuffer: ByteBuffer(string: value.jsonText)))
    }

    static func int(_ request: Request, _ name: String, _ fallback: Int) -> Int {
        request.uri.queryParameters.get(name).flatMap { Int($0) } ?? fallback
    }

    static func slice(_ all: [JSONValue], page: Int, size: Int) -> [JSONValue] {
        let start = min(all.count, max(0, (page - 1) * size))
        return Array(all[start..<min(all.count, start + size)])
    }

    static func router(delay: Duration = .zero, failures: WindowFailures = WindowFailures()) -> Router<BasicRequestContext> {
        let router = Router()
        // records with from <= updated_at < to; the window starting at `failures.failing` fails once
        router.get("/window") { request, _ -> Response in
            let query = request.uri.queryParameters
            guard let from = query.get("from").flatMap({ UTCDateTime(iso: $0) }), let to = query.get("to").flatMap({ UTCDateTime(iso: $0) }) else {
                return Response(status: .badRequest)
            }
            if await failures.shouldFail(from.description) {
                return Response(status: .internalServerError, body: .init(byteBuffer: ByteBuffer(string: #"{"error": "try again"}"#)))
            }
            let selected = records(since: nil).filter { value in
                guard case .string(let text)? = value["meta"]?["updated_at"], let time = UTCDateTime(iso: text) else { return false }
                return time >= from && time < to
            }
            return json(.object(JSONObject(["data": .array(selected)])))
        }
        // page numbers with has_more / total / total_pages; optional updated_since filter
        router.get("/page") { request, _ -> Response in
            if delay > .zero { try await Task.sleep(for: delay) }
            let all = records(since: request.uri.queryParameters.get("updated_since"))
            let page = int(request, "page", 1), size = int(request, "per_page", 10)
            let data = slice(all, page: page, size: size)
            return json(.object(JSONObject([
                "data": .array(data), "has_more": .bool(page * size < all.count),
                "total": .number(String(all.count)), "total_pages": .number(String((all.count + size - 1) / size)),
            ])))
        }
        // page 2 is short (7 of 10) although more pages follow
        router.get("/page-short") { request, _ -> Response in
            let page = int(request, "page", 1)
            let all = records(since: nil)
            let bounds = [0, 10, 17, 25, 25]
            let data = page >= 1 && page < bounds.count ? Array(all[bounds[page - 1]..<bounds[page]]) : []
            return json(.object(JSONObject(["data": .array(data)])))
        }
        // offset / limit, no total: the end is the empty page
        router.get("/offset") { request, _ -> Response in
            let offset = int(request, "offset", 0), limit = int(request, "limit", 10)
            let all = records(since: nil)
            let start = min(all.count, offset)
            return json(.object(JSONObject(["items": .array(Array(all[start..<min(all.count, start + limit)]))])))
        }
        // cursor tokens in the query (or a header), next token in the body
        router.get("/cursor") { request, _ -> Response in
            let token = request.uri.queryParameters.get("after") ?? request.headers[.init("X-Cursor")!] ?? ""
            let start = Int(token.dropFirst(4)) ?? 0
            let all = records(since: nil)
            let end = min(all.count, start + int(request, "limit", 10))
            return json(.object(JSONObject([
                "data": .array(Array(all[min(start, all.count)..<end])),
                "next": end < all.count ? .string("tok-\(end)") : .null,
            ])))
        }
        // the same next token forever
        router.get("/same-token") { request, _ -> Response in
            let after = request.uri.queryParameters.get("after") ?? ""
            return json(.object(JSONObject(["data": .array([record(after.isEmpty ? 1 : 2)]), "next": .string("tok-again")])))
        }
        // relative next URLs in the body
        router.get("/next-url") { request, _ -> Response in
            let page = int(request, "p", 1)
            let data = slice(records(since: nil), page: page, size: 10)
            return json(.object(JSONObject([
                "data": .array(data),
                "links": .object(JSONObject(["next": page * 10 < count ? .string("/next-url?p=\(page + 1)") : .null])),
            ])))
        }
        // bare arrays, Link header with several relations
        router.get("/link") { request, _ -> Response in
            let page = int(request, "page", 1)
            var links = [#"</link?page=1>; rel="first""#, #"</link?page=3>; rel="last""#]
            if page > 1 { links.append("</link?page=\(page - 1)>; rel=\"prev\"") }
            if page < 3 { links.insert("</link?page=\(page + 1)>; rel=\"next\"", at: 1) }
            var headers = HTTPFields()
            headers[.init("Link")!] = links.joined(separator: ", ")
            return json(.array(slice(records(since: nil), page: page, size: 10)), headers: headers)
        }
        // after page 2, page 2 again forever
        router.get("/repeat") { request, _ -> Response in
            let page = min(2, int(request, "page", 1))
            return json(.object(JSONObject(["data": .array(slice(records(since: nil), page: page, size: 10))])))
        }
        // reports more records than it has
        router.get("/total-mismatch") { request, _ -> Response in
            let page = int(request, "page", 1)
            return json(.object(JSONObject(["data": .array(slice(records(since: nil), page: page, size: 10)), "total": .number("30")])))
        }
        // page number and size in a JSON body
        router.post("/search") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 1 << 16)
            let query = try JSONReader.parse(Array(buffer: body))
            func value(_ key: String) -> Int? {
                if case .number(let n)? = query[key] { return Int(n) }
                return nil
            }
            guard let page = value("page"), let size = value("size"), case .string("x")? = query["filter"] else {
                return Response(status: .badRequest, body: .init(byteBuffer: ByteBuffer(string: #"{"error": "send page, size and filter"}"#)))
            }
            let all = records(since: nil)
            return json(.object(JSONObject(["data": .array(slice(all, page: page, size: size)), "more": .bool(page * size < all.count)])))
        }
        return router
    }
}

/// Which backfill window the test API fails (once).
actor WindowFailures {
    var failing: String?
    var failed = false
    var calls: [String] = []

    init(failing: String? = nil) {
        self.failing = failing
    }

    func shouldFail(_ start: String) -> Bool {
        calls.append(start)
        if start == failing, !failed {
            failed = true
            return true
        }
        return false
    }
}
