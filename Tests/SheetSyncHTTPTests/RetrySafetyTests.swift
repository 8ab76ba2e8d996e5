import Foundation
import Testing
import SheetSyncCore
@testable import SheetSyncHTTP
import SheetSyncTesting

/// Issue 15, item 7: a request that may have reached the server (a timeout, a connection
/// lost after sending, a gateway's 502/504) is sent again only when its method is
/// idempotent or the job says so (`retry.non_idempotent: true`). A connection refused
/// before anything was sent, and a 429 or 503 (the server says it did not do the work),
/// are retried for every method.
struct RetrySafetyTests {
    let noRedaction = Redactor(secrets: [])
    let threeQuick = RetryPolicy(attempts: 3, initialDelay: .milliseconds(5))

    func exchange(_ spec: HTTPRequestSpec, transport: HTTPTransport) async throws -> HTTPExchange {
        let request = try RequestBuilder(projectDirectory: URL(fileURLWithPath: "/tmp")).build(spec, values: TemplateValues())
        return await transport.send(request, redactor: noRedaction)
    }

    /// The issue's case: before, the server received 3 POSTs.
    @Test func aTimedOutPOSTIsNotSentAgain() async throws {
        try await withEdgeServer { server, hits in
            try await withTransport { transport in
                let result = try await exchange(spec(.POST, server.baseURL + "/slow/2000", body: .raw(template("{}"), contentType: "application/json"),
                                                     timeout: .milliseconds(300), retry: threeQuick), transport: transport)
                guard case .failure(let error) = result.result else { Issue.record("no timeout"); return }
                #expect(error.code == .timeout)
                #expect(result.attempts.count == 1)
                #expect(await hits.count("slow-post") == 1)
                #expect(error.message.contains("not sent again"), "\(error.message)")
                #expect(error.message.contains("retry.non_idempotent"), "\(error.message)")
            }
        }
    }

    @Test(arguments: [HTTPRequestSpec.Method.GET, .PUT])
    func aTimedOutIdempotentRequestIsRetried(method: HTTPRequestSpec.Method) async throws {
        try await withEdgeServer { server, hits in
            try await withTransport { transport in
                let result = try await exchange(spec(method, server.baseURL + "/slow/2000", timeout: .milliseconds(300),
                                                     retry: RetryPolicy(attempts: 2, initialDelay: .milliseconds(5))), transport: transport)
                guard case .failure(let error) = result.result else { Issue.record("no timeout"); return }
                #expect(error.code == .timeout)
                #expect(result.attempts.count == 2)
                #expect(await hits.count("slow-" + method.rawValue.lowercased()) == 2)
            }
        }
    }

    /// Nothing was sent: a refused connection is safe to retry whatever the method.
    @Test func aRefusedPOSTIsRetried() async throws {
        try await withTransport { transport in
            // Port 9 (discard) is closed on loopback here.
            let result = try await exchange(spec(.POST, "http://127.0.0.1:9/x", retry: RetryPolicy(attempts: 2, initialDelay: .milliseconds(5))),
                                            transport: transport)
            guard case .failure(let error) = result.result else { Issue.record("connected to a closed port"); return }
            #expect(error.code == .connection)
            #expect(result.attempts.count == 2)
        }
    }

    /// 429 and 503 say the server did not do the work; a gateway's 502 or 504 does not
    /// (the API behind it may have): a POST is retried on the first two only.
    @Test(arguments: [(503, 3), (429, 3), (502, 1), (504, 1)])
    func aPOSTIsRetriedOnStatusesThatSayNothingWasDone(status: Int, sent: Int) async throws {
        try await withEdgeServer { server, hits in
            try await withTransport { transport in
                let result = try await exchange(spec(.POST, server.baseURL + "/status/\(status)", retry: threeQuick), transport: transport)
                guard case .failure(let error) = result.result else { Issue.record("\(status) accepted"); return }
                #expect(error.status == status)
                #expect(result.attempts.count == sent)
                #expect(await hits.count("post-status-\(status)") == sent)
                if sent == 1 { #expect(error.message.contains("not sent again"), "\(error.message)") }
            }
        }
    }
}
