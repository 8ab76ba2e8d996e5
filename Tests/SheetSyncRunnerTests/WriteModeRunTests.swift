import Foundation
import SheetSyncCore
import SheetSyncHTTP
@testable import SheetSyncRunner
import SheetSyncStore
import SheetSyncTesting
import Testing

/// `write: insert | update` through whole runs (issue 16, item 8): a real loopback server,
/// the real SQLite file, pages read whole and pages streamed in parts.
struct WriteModeRunTests {
    static func job(write: String?, childWrite: String? = nil) -> String {
        """
        kind: pull
        worksheet: orders
        request:
          url: "{{env.API}}/orders"
          query: { since: "{{state.cursor}}" }
          retry: { attempts: 1 }
        \(write.map { "write: \($0)" } ?? "")
        records: $.data
        fields: { id: $.id, status: $.status, updated_at: $.updated_at }
        incremental: { cursor: $.updated_at }
        children:
          - worksheet: items
            records: $.items
            \(childWrite.map { "write: \($0)" } ?? "")
            fields: { order_id: $parent.id, sku: $.sku, qty: $.qty }
        """
    }

    /// Runs `body` with the scripted API on 127.0.0.1 and jobs `seed` (upsert), `ins`
    /// (`write: insert`), `upd` (`write: update`) and `upd-replace` (`write: update`
    /// with an `upsert` child).
    static func withAPI(spillBytes: Int, backend: Backend = .sqlite, _ body: (Harness, ScriptedResponses) async throws -> Void) async throws {
        let script = ScriptedResponses()
        try await withLoopbackServer(ScriptedAPI.router(script)) { server in
            let files = [
                "sheetsync.yml": "env: { API: '\(server.baseURL)' }\n",
                "schema/orders.yml": "worksheet: orders\nkey: [id]\nfields:\n  id: text\n  status: text\n  updated_at: datetime\n",
                "schema/items.yml": "worksheet: items\nkey: [order_id, sku]\nfields:\n  order_id: text\n  sku: text\n  qty: integer\n",
                "jobs/seed.yml": job(write: nil),
                "jobs/ins.yml": job(write: "insert"),
                "jobs/upd.yml": job(write: "update"),
                "jobs/upd-replace.yml": job(write: "update", childWrite: "upsert"),
            ]
            try await withHarness(files: files, environment: [:], backend: backend, spillBytes: spillBytes) { harness in try await body(harness, script) }
        }
    }

    static let seed = #"""
        {"data": [
          {"id": "o1", "status": "new", "updated_at": "2024-01-01T00:00:00Z", "items": [{"sku": "A", "qty": 1}, {"sku": "B", "qty": 1}]},
          {"id": "o2", "status": "new", "updated_at": "2024-01-01T00:00:00Z", "items": [{"sku": "A", "qty": 1}]}
        ]}
        """#
    /// o1 changed (A changed, B gone, C new), o2 the same, o3 new; updated_at moves on.
    static let changed = #"""
        {"data": [
          {"id": "o1", "status": "paid", "updated_at": "2024-02-01T00:00:00Z", "items": [{"sku": "A", "qty": 5}, {"sku": "C", "qty": 1}]},
          {"id": "o2", "status": "new", "updated_at": "2024-01-01T00:00:00Z", "items": [{"sku": "A", "qty": 1}]},
          {"id": "o3", "status": "new", "updated_at": "2024-03-01T00:00:00Z", "items": [{"sku": "Z", "qty": 1}]}
        ]}
        """#

    static func table(_ harness: Harness) throws -> (orders: [String], items: [String]) {
        (try harness.rows("SELECT id || ':' || status FROM orders ORDER BY id").map { $0[0] as String },
         try harness.rows("SELECT order_id || sku || qty FROM items ORDER BY 1").map { $0[0] as String })
    }

    static func cursor(_ harness: Harness, job: String) throws -> String? {
        try harness.rows("SELECT value FROM _sheetsync_state WHERE job = '\(job)' AND name = 'cursor'").first.map { $0[0] as String }
    }

    /// Whole pages, and pages streamed a few records at a time (`spillBytes` small).
    static let spills = [HTTPTransport.defaultSpillBytes, 64]

    @Test(arguments: spills)
    func insertAddsNewKeysAndLeavesTheRestAlone(spillBytes: Int) async throws {
        try await Self.withAPI(spillBytes: spillBytes) { harness, script in
            await script.set(body: Self.seed)
            #expect(await harness.runner.run(try harness.job("seed")).status == .succeeded)
            await script.set(body: Self.changed)
            let run = await harness.runner.run(try harness.job("ins"))
            #expect(run.status == .succeeded, "\(run.line)")
            #expect(run.counts.byWorksheet["orders"] == UpsertCounts(inserted: 1, unchanged: 2))
            // o1's C is new and added; A (different) untouched, B (not listed) kept.
            #expect(run.counts.byWorksheet["items"] == UpsertCounts(inserted: 2, unchanged: 2))
            #expect(run.counts.deletedTotal == 0)
            let (orders, items) = try Self.table(harness)
            #expect(orders == ["o1:new", "o2:new", "o3:new"])
            #expect(items == ["o1A1", "o1B1", "o1C1", "o2A1", "o3Z1"])
            #expect(run.line.contains("orders: 1 inserted, 0 updated, 2 unchanged"), "\(run.line)")
            #expect(!run.line.contains("skipped"))
            #expect(try Self.cursor(harness, job: "ins") == "2024-03-01T00:00:00Z")
        }
    }

    @Test(arguments: spills)
    func updateChangesKnownKeysSkipsUnknownOnesAndMovesTheCursor(spillBytes: Int) async throws {
        try await Self.withAPI(spillBytes: spillBytes) { harness, script in
            await script.set(body: Self.seed)
            #expect(await harness.runner.run(try harness.job("seed")).status == .succeeded)
            await script.set(body: Self.changed)
            let run = await harness.runner.run(try harness.job("upd"))
            #expect(run.status == .succeeded, "\(run.line)")
            #expect(run.exitCode == 0)
            #expect(run.counts.byWorksheet["orders"] == UpsertCounts(updated: 1, unchanged: 1, skipped: 1))
            // o1: A updated, C unknown; o2: A the same; o3 skipped with its Z.
            #expect(run.counts.byWorksheet["items"] == UpsertCounts(updated: 1, unchanged: 1, skipped: 2))
            #expect(run.counts.deletedTotal == 0)
            let (orders, items) = try Self.table(harness)
            #expect(orders == ["o1:paid", "o2:new"])
            #expect(items == ["o1A5", "o1B1", "o2A1"])
            #expect(run.line.contains("orders: 0 inserted, 1 updated, 1 unchanged, 1 skipped"), "\(run.line)")
            #expect(run.line.contains("items: 0 inserted, 1 updated, 1 unchanged, 2 skipped"), "\(run.line)")
            // The skipped record was dealt with: the cursor moves past it, so it is not fetched forever.
            #expect(try Self.cursor(harness, job: "upd") == "2024-03-01T00:00:00Z")
            let record = try #require(try harness.database.runs(job: "upd", limit: 20).first)
            #expect((record.status, record.skipped, record.rejected) == ("succeeded", 3, 0))
        }
    }

    @Test(arguments: Backend.allCases) func anUpsertChildUnderAnUpdateJobReplacesTheChildrenOfKnownParentsOnly(_ backend: Backend) async throws {
        try await Self.withAPI(spillBytes: HTTPTransport.defaultSpillBytes, backend: backend) { harness, script in
            await script.set(body: Self.seed)
            #expect(await harness.runner.run(try harness.job("seed")).status == .succeeded)
            await script.set(body: Self.changed)
            let run = await harness.runner.run(try harness.job("upd-replace"))
            #expect(run.status == .succeeded, "\(run.line)")
            #expect(run.counts.byWorksheet["items"] == UpsertCounts(inserted: 1, updated: 1, unchanged: 1, skipped: 1))
            #expect(run.counts.deleted["items"] == 1)
            #expect(try Self.table(harness).items == ["o1A5", "o1C1", "o2A1"])
        }
    }
}
