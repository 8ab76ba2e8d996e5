import Foundation
import GRDB
import Testing
import SheetSyncCore
import SheetSyncDemo
@testable import SheetSyncRunner
import SheetSyncStore
import SheetSyncTesting

struct BackfillTests {
    static let job = """
        kind: pull
        worksheet: records
        request:
          url: "{{env.API}}/window"
          query: { from: "{{window.start}}", to: "{{window.end}}" }
          retry: { attempts: 1 }
        incremental: { cursor: $.meta.updated_at }
        records: $.data
        fields: { id: $.id, status: $.status, total: $.total, updated_at: $.meta.updated_at }
        """

    func windows() throws -> [BackfillWindow] {
        try BackfillPlan.windows(from: UTCDateTime(iso: "2024-01-01T00:00:00Z")!, to: UTCDateTime(iso: "2024-01-01T00:30:00Z")!,
                                 step: .seconds(600))
    }

    @Test(arguments: Backend.allCases) func windowsRunResumeAndLeaveTheCursorAlone(_ backend: Backend) async throws {
        let failures = WindowFailures(failing: "2024-01-01T00:10:00Z")
        try await withLoopbackServer(PagedAPI.router(failures: failures)) { server in
            try await withHarness(files: ["schema/records.yml": PaginationTests.schema, "jobs/j.yml": Self.job,
                                          "sheetsync.yml": "env: { API: '\(server.baseURL)' }\n"], environment: [:]) { harness in
                let job = try harness.job("j")
                try harness.database.saveState([StateKey.cursor: "2023-06-01T00:00:00Z"], job: "j")

                let first = try await harness.runner.backfill(job, windows: windows(), from: "a", to: "b", step: "10m", timezone: "UTC",
                                                              concurrency: 2, restart: false) { _ in }
                #expect(first.total == 3)
                #expect(first.done == 2)
                #expect(first.failed == 1)
                #expect(try harness.rows("SELECT id FROM records ORDER BY id").map { $0[0] as Int } == Array(1...9) + Array(20...25))

                // Running the same backfill again does only the window that failed.
                let second = try await harness.runner.backfill(job, windows: windows(), from: "a", to: "b", step: "10m", timezone: "UTC",
                                                               concurrency: 2, restart: false) { _ in }
                #expect(second.resumed)
                #expect(second.done == 3)
                #expect(second.failed == 0)
                let calls = await failures.calls
                #expect(calls.count == 4)
                #expect(calls.last == "2024-01-01T00:10:00Z")
                #expect(try harness.rows("SELECT id FROM records ORDER BY id").map { $0[0] as Int } == Array(1...25))
                #expect(try harness.rows("SELECT count(*) FROM _sheetsync_runs WHERE trigger = 'backfill'")[0][0] as Int == 4)
                #expect(try harness.rows("SELECT finished_at IS NOT NULL FROM _sheetsync_backfills")[0][0] as Bool)

                // The scheduled job's cursor did not move, and no resume state was left.
                #expect(try harness.database.state(job: "j") == [StateKey.cursor: "2023-06-01T00:00:00Z"])

                // Issue 15, item 10: a finished backfill run again does nothing (every window is
                // done), as the README says; before, the same command redid every window.
                let third = try await harness.runner.backfill(job, windows: windows(), from: "a", to: "b", step: "10m", timezone: "UTC",
                                                              concurrency: 1, restart: false) { _ in }
                #expect(third.resumed)
                #expect(third.done == 3)
                #expect(third.rows == 0)
                #expect(await failures.calls.count == 4)
                #expect(try harness.rows("SELECT count(*) FROM _sheetsync_runs WHERE trigger = 'backfill'")[0][0] as Int == 4)

                // --restart runs every window again.
                let fourth = try await harness.runner.backfill(job, windows: windows(), from: "a", to: "b", step: "10m", timezone: "UTC",
                                                               concurrency: 1, restart: true) { _ in }
                #expect(!fourth.resumed)
                #expect(fourth.done == 3)
                #expect(await failures.calls.count == 7)
            }
        }
    }

    /// The same range with other `--param` values is another backfill: it runs every
    /// window (before, it found the first one's windows done and ran nothing); the same
    /// values again are the same backfill. The values are not recorded, only a digest.
    @Test(arguments: Backend.allCases) func otherParametersAreAnotherBackfill(_ backend: Backend) async throws {
        let failures = WindowFailures()
        let job = Self.job.replacingOccurrences(of: #"query: { from: "{{window.start}}", to: "{{window.end}}" }"#,
                                                with: #"query: { from: "{{window.start}}", to: "{{window.end}}", region: "{{param.region}}" }"#)
        try await withLoopbackServer(PagedAPI.router(failures: failures)) { server in
            try await withHarness(files: ["schema/records.yml": PaginationTests.schema, "jobs/j.yml": job,
                                          "sheetsync.yml": "env: { API: '\(server.baseURL)' }\n"], environment: [:]) { harness in
                let job = try harness.job("j")
                func backfill(_ region: String) async throws -> BackfillReport {
                    try await harness.runner.backfill(job, windows: windows(), from: "a", to: "b", step: "10m", timezone: "UTC",
                                                      concurrency: 1, restart: false, params: ["region": region]) { _ in }
                }
                let eu = try await backfill("eu-secretish")
                #expect(!eu.resumed)
                #expect(eu.done == 3)
                #expect(await failures.calls.count == 3)
                let us = try await backfill("us")
                #expect(!us.resumed, "another region is another backfill")
                #expect(us.done == 3)
                #expect(await failures.calls.count == 6)
                let again = try await backfill("us")
                #expect(again.resumed)
                #expect(await failures.calls.count == 6)
                #expect(try harness.rows("SELECT count(DISTINCT params) FROM _sheetsync_backfills")[0][0] as Int == 2)
                #expect(try harness.rows("SELECT count(*) FROM _sheetsync_backfills WHERE params LIKE '%eu-secretish%'")[0][0] as Int == 0)
            }
        }
    }
}
