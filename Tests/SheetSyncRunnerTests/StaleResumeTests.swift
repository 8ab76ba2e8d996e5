import Foundation
import Hummingbird
import NIOCore
import Testing
import SheetSyncCore
@testable import SheetSyncRunner
import SheetSyncStore
import SheetSyncTesting

/// A cursor-paginated API whose tokens can go down (503) or expire (400): 25 records,
/// 10 a page; each first page hands out a new token for page 2 (`p2-1`, `p2-2`, …).
actor ExpiringCursors {
    var issued = 0
    var expired: Set<String> = []
    var down = false

    func firstPage() -> String {
        issued += 1
        return "p2-\(issued)"
    }

    func expire(_ token: String) { expired.insert(token) }
    func setDown(_ value: Bool) { down = value }

    static func router(_ api: ExpiringCursors) -> Router<BasicRequestContext> {
        let router = Router()
        router.get("/cursor") { request, _ -> Response in
            let token: String? = request.uri.queryParameters.get("after")
            let all = (1...25).map { id in #"{"id": \#(id), "status": "new"}"# }
            let (slice, next): (ArraySlice<String>, String?)
            switch token {
            case nil:
                (slice, next) = (all[0..<10], await api.firstPage())
            case let token? where token.hasPrefix("p2-"):
                if await api.expired.contains(token) {
                    return Response(status: .badRequest, headers: [.contentType: "application/json"],
                                    body: .init(byteBuffer: ByteBuffer(string: #"{"error": {"code": "cursor_expired", "message": "this cursor has expired"}}"#)))
                }
                if await api.down { return Response(status: .serviceUnavailable) }
                (slice, next) = (all[10..<20], "p3")
            default:
                (slice, next) = (all[20..<25], nil)
            }
            let body = #"{"data": [\#(slice.joined(separator: ","))], "next": \#(next.map { "\"\($0)\"" } ?? "null")}"#
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: body)))
        }
        return router
    }
}

/// Issue 15, item 4: a resume position the server no longer accepts.
struct StaleResumeTests {
    static func job(_ extra: String = "") -> String {
        """
        kind: pull
        worksheet: records
        request:
          url: "{{env.API}}/cursor"
          retry: { attempts: 1 }
          error: { code: $.error.code, message: $.error.message }
        paginate: { style: cursor, param: after, next: $.next\(extra) }
        records: $.data
        fields: { id: $.id, status: $.status }
        """
    }

    /// Page 2 fails with 503 (the run keeps its resume position), then the token expires.
    func interruptedAtAnExpiredToken(_ api: ExpiringCursors, _ harness: Harness, job name: String) async throws {
        await api.setDown(true)
        let first = await harness.runner.run(try harness.job(name))
        #expect(first.status == .failed)
        #expect(try harness.database.state(job: name)[StateKey.resumePosition]?.contains("p2-1") == true)
        await api.setDown(false)
        await api.expire("p2-1")
    }

    func files(_ api: String, jobs: [String: String]) -> [String: String] {
        var files = ["schema/records.yml": PaginationTests.schema, "sheetsync.yml": "env: { API: '\(api)' }\n"]
        for (name, text) in jobs { files["jobs/\(name).yml"] = text }
        return files
    }

    /// Before: every later run failed with "HTTP 400 …: [cursor_expired] this cursor has
    /// expired" and nothing more.
    @Test(arguments: Backend.allCases) func aStaleResumePositionNamesItselfAndTheWayOut(_ backend: Backend) async throws {
        let api = ExpiringCursors()
        try await withLoopbackServer(ExpiringCursors.router(api)) { server in
            try await withHarness(files: files(server.baseURL, jobs: ["orders": Self.job()]), environment: [:], backend: backend) { harness in
                try await interruptedAtAnExpiredToken(api, harness, job: "orders")
                for _ in 1...2 {
                    let again = await harness.runner.run(try harness.job("orders"))
                    #expect(again.status == .failed)
                    let message = again.errorMessage ?? ""
                    #expect(message.contains("this cursor has expired"), "\(message)")
                    #expect(message.contains("saved resume position"), "\(message)")
                    #expect(message.contains("'p2-1'"), "\(message)")
                    #expect(message.contains("sheetsync state orders --reset"), "\(message)")
                    #expect(message.contains("on_stale_resume: restart"), "\(message)")
                }
                // The position is kept: failing is not a reason to forget it.
                #expect(try harness.database.state(job: "orders")[StateKey.resumePosition]?.contains("p2-1") == true)
                // The way out works.
                try harness.database.resetState(job: "orders")
                let fresh = await harness.runner.run(try harness.job("orders"))
                #expect(fresh.status == .succeeded, "\(fresh.errorMessage ?? "")")
                #expect(try harness.count("records") == 25)
            }
        }
    }

    /// `paginate.on_stale_resume: restart`: a 4xx on the resumed page starts the run over
    /// from the first page, says so in the run's warnings, and completes.
    @Test(arguments: Backend.allCases) func aJobMayStartOverByItself(_ backend: Backend) async throws {
        let api = ExpiringCursors()
        try await withLoopbackServer(ExpiringCursors.router(api)) { server in
            let jobs = ["orders": Self.job(", on_stale_resume: restart")]
            try await withHarness(files: files(server.baseURL, jobs: jobs), environment: [:], backend: backend) { harness in
                try await interruptedAtAnExpiredToken(api, harness, job: "orders")
                let again = await harness.runner.run(try harness.job("orders"))
                #expect(again.status == .succeeded, "\(again.errorMessage ?? "")")
                #expect(again.warnings.contains { $0.contains("'p2-1'") && $0.contains("started over") }, "\(again.warnings)")
                #expect(try harness.count("records") == 25)
                #expect(try harness.database.state(job: "orders")[StateKey.resumePosition] == nil)
                // The stale page, then pages 1 to 3 again.
                #expect(again.requests == 4)
            }
        }
    }

    /// A 5xx on the resumed page is not staleness: the position is kept for next time,
    /// even with `restart`.
    @Test(arguments: Backend.allCases) func aServerErrorOnResumeKeepsThePosition(_ backend: Backend) async throws {
        let api = ExpiringCursors()
        try await withLoopbackServer(ExpiringCursors.router(api)) { server in
            let jobs = ["orders": Self.job(", on_stale_resume: restart")]
            try await withHarness(files: files(server.baseURL, jobs: jobs), environment: [:], backend: backend) { harness in
                await api.setDown(true)
                _ = await harness.runner.run(try harness.job("orders"))
                let again = await harness.runner.run(try harness.job("orders"))
                #expect(again.status == .failed)
                #expect(again.requests == 1)
                #expect(try harness.database.state(job: "orders")[StateKey.resumePosition]?.contains("p2-1") == true)
            }
        }
    }
}
