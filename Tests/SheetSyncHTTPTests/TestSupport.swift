import Foundation
import SheetSyncCore
import SheetSyncDemo
import SheetSyncTesting
@testable import SheetSyncHTTP

/// Starts the edge-case server for one test and stops it afterwards, even when the test throws.
func withEdgeServer<T>(_ body: (LoopbackServer, HitCounter) async throws -> T) async throws -> T {
    let hits = HitCounter()
    return try await withLoopbackServer(EdgeCaseServer.router(hits: hits)) { server in try await body(server, hits) }
}

func template(_ text: String) -> Template {
    try! Template(parsing: text)
}

func spec(_ method: HTTPRequestSpec.Method = .GET, _ url: String, body: RequestBody? = nil, headers: [(String, String)] = [],
          query: [(String, String)] = [], timeout: Duration = .seconds(5), successCodes: [Int]? = nil,
          retry: RetryPolicy = RetryPolicy(attempts: 1), maxBytes: Int? = nil) -> HTTPRequestSpec {
    HTTPRequestSpec(method: method, url: template(url), query: query.map { NamedTemplate(name: $0.0, value: template($0.1)) },
                    headers: headers.map { NamedTemplate(name: $0.0, value: template($0.1)) }, body: body, timeout: timeout,
                    successCodes: successCodes, retry: retry, maxResponseBytes: maxBytes)
}

/// What `/echo` reported.
struct Echo {
    var method: String
    var path: String
    var query: String
    var headers: [(String, String)]
    var body: [UInt8]

    init(_ response: HTTPResponseData) throws {
        let value = try JSONReader.parse(response.body)
        guard case .string(let method)? = value["method"], case .string(let path)? = value["path"],
              case .string(let query)? = value["query"], case .array(let headers)? = value["headers"],
              case .string(let body)? = value["body"] else { throw CoreError(.invalidJSON, "not an echo") }
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers.compactMap { pair in
            guard case .array(let items) = pair, items.count == 2, case .string(let name) = items[0], case .string(let value) = items[1] else { return nil }
            return (name, value)
        }
        self.body = Array(Data(base64Encoded: body) ?? Data())
    }

    func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }
}
