import Foundation
import Hummingbird
import NIOCore
import Testing
import SheetSyncCore
@testable import SheetSyncRunner
import SheetSyncTesting

/// Counts the requests a path receives.
actor RequestCounter {
    var counts: [String: Int] = [:]
    func hit(_ key: String) { counts[key, default: 0] += 1 }
    func count(_ key: String) -> Int { counts[key] ?? 0 }
}

/// Issue 15, item 7, through a whole pull job: a POST search that times out is not sent
/// again unless the job says repeating it is harmless.
struct RetrySafetyRunTests {
    static func job(path: String, method: String = "POST", retry: String = "") -> String {
        """
        kind: pull
        worksheet: records
        request:
          method: \(method)
          url: "{{env.API}}\(path)"
          body: { json: { query: "status:new" } }
          timeout: 1s
        \(retry.isEmpty ? "" : "  retry: \(retry)")
        records: $.data
        fields: { id: $.id, status: $.status }
        """
    }

    /// A search API that answers after 3 s (longer than the job's 1 s timeout).
    static func slowSearch(_ counter: RequestCounter) -> Router<BasicRequestContext> {
        let router = Router()
        router.post("/search") { _, _ -> Response in
            await counter.hit("search")
            try await Task.sleep(for: .seconds(3))
            return Response(status: .ok, headers: [.contentType: "application/json"],
                            body: .init(byteBuffer: ByteBuffer(string: #"{"data": [{"id": 1, "status": "new"}]}"#)))
        }
        return router
    }

    func files(_ job: String, api: String) -> [String: String] {
        ["schema/records.yml": PaginationTests.schema, "jobs/j.yml": job, "sheetsync.yml": "env: { API: '\(api)' }\n"]
    }

    /// The issue's case: a POST job with `timeout: 1s` against a server answering in
    /// 12 s made the server receive 3 POSTs.
    @Test func aTimedOutPOSTJobSendsItsRequestOnce() async throws {
        let counter = RequestCounter()
        try await withLoopbackServer(Self.slowSearch(counter)) { server in
            try await withHarness(files: files(Self.job(path: "/search"), api: server.baseURL), environment: [:]) { harness in
                let summary = await harness.runner.run(try harness.job("j"))
                #expect(summary.status == .failed)
                #expect(summary.errorCode == "timeout")
                #expect(summary.errorMessage?.contains("not sent again") == true, "\(summary.errorMessage ?? "")")
                #expect(await counter.count("search") == 1)
                #expect(try harness.count("_sheetsync_requests") == 1)
            }
        }
    }

    /// A read-only search API: the job says a repeat is harmless, so the timeout is retried.
    @Test func aPOSTJobThatSaysRepeatsAreHarmlessIsRetried() async throws {
        let counter = RequestCounter()
        try await withLoopbackServer(Self.slowSearch(counter)) { server in
            let job = Self.job(path: "/search", retry: "{ attempts: 3, non_idempotent: true }")
            try await withHarness(files: files(job, api: server.baseURL), environment: [:]) { harness in
                let summary = await harness.runner.run(try harness.job("j"))
                #expect(summary.status == .failed)
                #expect(summary.errorCode == "timeout")
                #expect(await counter.count("search") == 3)
            }
        }
    }

    /// The connection breaks after the request went out: the POST may have been
    /// processed, so it is not sent again; the same GET is.
    @Test(arguments: [("POST", 1), ("GET", 3)])
    func aConnectionLostAfterSendingIsRetriedOnlyForIdempotentMethods(method: String, sent: Int) async throws {
        try await withRawHTTPServer(["/drop": RawHTTPServer.Behaviour(bytes: [])]) { server in
            try await withHarness(files: files(Self.job(path: "/drop", method: method), api: server.baseURL), environment: [:]) { harness in
                let summary = await harness.runner.run(try harness.job("j"))
                #expect(summary.status == .failed)
                #expect(summary.errorCode == "connection", "\(summary.errorMessage ?? "")")
                #expect(server.requests("/drop") == sent)
            }
        }
    }
}
