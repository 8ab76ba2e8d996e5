import Foundation
import GRDB
import Testing
import SheetSyncCore
import SheetSyncDemo
@testable import SheetSyncRunner
import SheetSyncStore
import SheetSyncTesting

/// Pull jobs end to end against real servers on loopback, on either store: a real SQLite
/// file, a real PostgreSQL server.
struct PullRunTests {
    @Test(arguments: Backend.allCases) func demoShopOrdersAndItemsLandAndASecondRunChangesNothing(_ backend: Backend) async throws {
        let shop = DemoShop(.init(seed: 7, orders: 60))
        try await withLoopbackServer(shop.router()) { server in
            var files = DemoProject.files
            files["sheetsync.yml"] = DemoProject.settings(shopURL: server.baseURL)
            try await withHarness(files: files, environment: ["SHOP_TOKEN": "demo-token"], backend: backend) { harness in
                let job = try harness.job("shop-orders")

                let first = await harness.runner.run(job)
                #expect(first.status == .succeeded, "\(first.line)")
                #expect(first.counts.byWorksheet["orders"] == UpsertCounts(inserted: 60))
                let expectedItems = shop.data.orders.reduce(0) { total, order in
                    if case .array(let items)? = order["items"] { return total + items.count }
                    return total
                }
                #expect(try harness.count("orders") == 60)
                #expect(try harness.count("order_items") == expectedItems)
                #expect(first.counts.byWorksheet["order_items"]?.inserted == expectedItems)
                let sample = try harness.rows("SELECT total, paid, updated_at, shipping_address FROM orders WHERE id = 'ord_00001'")[0]
                #expect((sample["total"] as String).contains("."))
                #expect((sample["updated_at"] as String).hasSuffix("Z"))
                let before = try harness.rows("SELECT id, _updated_at, _synced_at FROM orders ORDER BY id")

                // The second run is incremental: it asks only for orders updated since the saved
                // cursor minus the 10 minute lookback, and those are unchanged.
                let second = await harness.runner.run(job)
                #expect(second.status == .succeeded)
                #expect(second.records > 0 && second.records < 60)
                #expect(second.counts.byWorksheet["orders"] == UpsertCounts(unchanged: second.records))
                #expect(second.counts.inserted + second.counts.updated == 0)
                #expect(second.counts.deletedTotal == 0)
                #expect(try harness.rows("SELECT id, _updated_at, _synced_at FROM orders ORDER BY id") == before)

                let runs = try harness.rows("SELECT job, trigger, status, requests, inserted, unchanged FROM _sheetsync_runs ORDER BY id")
                #expect(runs.count == 2)
                #expect(runs[0]["status"] as String == "succeeded")
                #expect(runs[0]["inserted"] as Int == 60 + expectedItems)
                #expect(runs[1]["inserted"] as Int == 0)
                let requests = try harness.rows("SELECT method, url, status, attempt FROM _sheetsync_requests ORDER BY id")
                #expect(requests.count == 2)
                #expect(requests[0]["status"] as Int == 200)
                #expect(requests[0]["url"] as String == server.baseURL + "/v1/orders?status=any&updated_since=2024-01-01T00%3A00%3A00Z&page=1&per_page=100")
                let maxUpdated = shop.data.updatedAt.max()!
                #expect(try harness.rows("SELECT value FROM _sheetsync_state WHERE job = 'shop-orders' AND name = 'cursor'").first.map { UTCDateTime(iso: $0[0] as String) } == maxUpdated)
                #expect((requests[1]["url"] as String).contains("updated_since=" + PercentEncoding.encode(CursorValue.applying(lookback: .seconds(600), to: maxUpdated.description))))
            }
        }
    }

    static let ordersJob = """
        kind: pull
        worksheet: orders
        request:
          url: "{{env.API}}/orders"
          headers: { Authorization: "Bearer {{secret.API_TOKEN}}" }
          error: { code: "$.error.code", message: "$.error.message" }
          retry: { attempts: 1 }
        records: $.data
        fields: { id: $.id, status: $.status, total: $.total }
        children:
          - worksheet: order_items
            records: $.items
            fields: { order_id: $parent.id, sku: $.sku, quantity: $.qty }
        """

    @Test(arguments: Backend.allCases) func childRowsAreReplacedWhenTheParentChanges(_ backend: Backend) async throws {
        let script = ScriptedResponses()
        try await withScriptedHarness(script, job: Self.ordersJob, backend: backend) { harness, _ in
            let job = try harness.job("orders")
            await script.set(body: #"{"data": [{"id": "o1", "status": "new", "total": "10.00", "items": [{"sku": "A", "qty": 1}, {"sku": "B", "qty": 2}]},"# +
                                   #"{"id": "o2", "status": "new", "total": "5.00", "items": [{"sku": "A", "qty": 9}]}]}"#)
            let first = await harness.runner.run(job)
            #expect(first.status == .succeeded, "\(first.line)")
            #expect(try harness.count("order_items") == 3)

            await script.set(body: #"{"data": [{"id": "o1", "status": "paid", "total": "10.00", "items": [{"sku": "B", "qty": 3}, {"sku": "C", "qty": 1}]},"# +
                                   #"{"id": "o2", "status": "new", "total": "5.00", "items": [{"sku": "A", "qty": 9}]}]}"#)
            let second = await harness.runner.run(job)
            #expect(second.counts.byWorksheet["orders"] == UpsertCounts(updated: 1, unchanged: 1))
            #expect(second.counts.byWorksheet["order_items"] == UpsertCounts(inserted: 1, updated: 1, unchanged: 1))
            #expect(second.counts.deleted["order_items"] == 1)
            let items = try harness.rows("SELECT order_id, sku, quantity FROM order_items ORDER BY order_id, sku").map {
                "\($0["order_id"] as String)/\($0["sku"] as String)/\($0["quantity"] as Int)"
            }
            #expect(items == ["o1/B/3", "o1/C/1", "o2/A/9"])
            #expect(try harness.rows("SELECT deleted FROM _sheetsync_runs ORDER BY id DESC LIMIT 1")[0][0] as Int == 1)
        }
    }

    @Test(arguments: Backend.allCases) func turningTLSVerificationOffIsWarnedOncePerRun(_ backend: Backend) async throws {
        let script = ScriptedResponses()
        let job = Self.ordersJob.replacingOccurrences(of: "  retry: { attempts: 1 }", with: "  retry: { attempts: 1 }\n  verify_tls: false")
        try await withScriptedHarness(script, job: job, backend: backend) { harness, _ in
            await script.set(body: #"{"data": [{"id": "o1", "total": "1.00"}]}"#)
            let summary = await harness.runner.run(try harness.job("orders"))
            #expect(summary.status == .succeeded, "\(summary.line)")
            let warnings = summary.warnings.filter { $0.contains("verify_tls: false") }
            #expect(warnings.count == 1)
            #expect(summary.line.contains("TLS certificate verification is off"))
            // Verification on (the default): no such warning (and a record with every mapped
            // member, so that no path that found nothing is warned about either).
            await script.set(body: #"{"data": [{"id": "o1", "status": "new", "total": "1.00"}]}"#)
            try await withScriptedHarness(script, job: Self.ordersJob, backend: backend) { plain, _ throws in
                #expect(await plain.runner.run(try plain.job("orders")).warnings.isEmpty)
            }
        }
    }

    @Test(arguments: Backend.allCases) func unconvertibleRecordsAreRejectedAndTheRunIsPartial(_ backend: Backend) async throws {
        let script = ScriptedResponses()
        try await withScriptedHarness(script, job: Self.ordersJob, backend: backend) { harness, _ in
            await script.set(body: #"{"data": [{"id": "o1", "total": "1.00"}, {"id": "o2", "total": "lots"}, {"id": "o3", "total": "3"}]}"#)
            let summary = await harness.runner.run(try harness.job("orders"))
            #expect(summary.status == .partial)
            #expect(summary.exitCode == 2)
            #expect(try harness.count("orders") == 2)
            let rejects = try harness.rows("SELECT job, run_id, worksheet, reason, raw FROM _sheetsync_rejects")
            #expect(rejects.count == 1)
            #expect(rejects[0]["job"] as String == "orders")
            #expect(rejects[0]["run_id"] as Int64 == summary.run)
            #expect(rejects[0]["reason"] as String == "field 'total' ($.total): expected a decimal, found the string 'lots'")
            #expect(rejects[0]["raw"] as String == #"{"id":"o2","total":"lots"}"#)
            #expect(summary.line.contains("1 rejected"))
        }
    }

    @Test(arguments: Backend.allCases) func terminateFailsTheRunAndRecordsTheRemoteError(_ backend: Backend) async throws {
        let script = ScriptedResponses()
        try await withScriptedHarness(script, job: Self.ordersJob, backend: backend) { harness, _ in
            await script.set(status: 403, body: #"{"error": {"code": "forbidden", "message": "token lacks scope orders:read"}}"#)
            let summary = await harness.runner.run(try harness.job("orders"))
            #expect(summary.status == .failed)
            #expect(summary.exitCode == 1)
            let run = try harness.rows("SELECT status, error_code, error_message FROM _sheetsync_runs")[0]
            #expect(run["status"] as String == "failed")
            #expect(run["error_code"] as String == "forbidden")
            #expect((run["error_message"] as String).contains("HTTP 403"))
            #expect((run["error_message"] as String).contains("[forbidden] token lacks scope orders:read"))
        }
    }

    @Test(arguments: Backend.allCases) func continueRecordsTheFailureAndEndsPartial(_ backend: Backend) async throws {
        let script = ScriptedResponses()
        let job = Self.ordersJob.replacingOccurrences(of: "retry: { attempts: 1 }", with: "retry: { attempts: 1 }\n  on_failure: continue")
        try await withScriptedHarness(script, job: job, backend: backend) { harness, _ in
            await script.set(status: 500, body: #"{"error": {"code": "boom", "message": "database on fire"}}"#)
            let summary = await harness.runner.run(try harness.job("orders"))
            #expect(summary.status == .partial)
            #expect(summary.exitCode == 2)
            #expect(try harness.rows("SELECT status FROM _sheetsync_runs")[0][0] as String == "partial")
        }
    }

    @Test(arguments: Backend.allCases) func secretsNeverReachLogsHistoryOrErrors(_ backend: Backend) async throws {
        let script = ScriptedResponses()
        let job = Self.ordersJob.replacingOccurrences(of: "url: \"{{env.API}}/orders\"", with: "url: \"{{env.API}}/orders?key={{secret.API_TOKEN}}\"")
        try await withScriptedHarness(script, job: job, backend: backend) { harness, server in
            await script.set(status: 401, body: #"{"error": {"code": "unauthorized", "message": "bad key canary-T0KEN-9f2"}}"#)
            let summary = await harness.runner.run(try harness.job("orders"))
            #expect(summary.status == .failed)
            // The server did receive it.
            #expect(await script.requests.first?.authorization == "Bearer canary-T0KEN-9f2")
            let canary = "canary-T0KEN-9f2"
            #expect(!summary.line.contains(canary))
            for table in ["_sheetsync_runs", "_sheetsync_requests", "_sheetsync_rejects", "_sheetsync_state"] {
                let dump = try harness.rows("SELECT * FROM \(table)").map { "\($0)" }.joined()
                #expect(!dump.contains(canary), "\(table) holds the secret")
            }
            #expect(try harness.rows("SELECT url FROM _sheetsync_requests")[0][0] as String == server.baseURL + "/orders?key=***")
            #expect(!harness.logs.all.joined().contains(canary))
            #expect(!harness.logs.all.isEmpty)
            let preview = await harness.runner.preview(try harness.job("orders"))
            #expect(preview.request?.headers.contains { $0.value == "Bearer ***" } == true)
            #expect(!(preview.error ?? "").contains(canary))
        }
    }

    @Test(arguments: Backend.allCases) func previewWritesNothing(_ backend: Backend) async throws {
        let script = ScriptedResponses()
        try await withScriptedHarness(script, job: Self.ordersJob, backend: backend) { harness, _ in
            await script.set(body: #"{"data": [{"id": "o1", "total": "1.00", "items": [{"sku": "A", "qty": 1}]}]}"#)
            let report = await harness.runner.preview(try harness.job("orders"))
            #expect(report.error == nil)
            #expect(report.page?.rows.rows.count == 1)
            #expect(report.page?.children.first?.rows.rows.count == 1)
            #expect(try harness.count("_sheetsync_runs") == 0)
            #expect(try !harness.hasTable("orders"))
        }
    }
}
