import Foundation
import SheetSyncCore
@testable import SheetSyncRunner
import SheetSyncStore
import SheetSyncTesting
import Testing

/// Children of children (issue 15, item 12): each level links to its immediate parent's
/// mapped key through `$parent.…`, and each level's children are replaced per parent,
/// through a real loopback server and SQLite file.
struct NestedChildrenTests {
    static let schemas: [String: String] = [
        "schema/shop_orders.yml": "worksheet: shop_orders\nkey: [id]\nfields:\n  id: text\n  status: text\n",
        "schema/line_items.yml": "worksheet: line_items\nkey: [order_id, line_no]\nfields:\n  order_id: text\n  line_no: integer\n  sku: text\n",
        "schema/tax_lines.yml": "worksheet: tax_lines\nkey: [order_id, line_no, tax]\nfields:\n  order_id: text\n  line_no: integer\n  tax: text\n  amount: decimal\n",
        "schema/tax_parts.yml": "worksheet: tax_parts\nkey: [order_id, line_no, tax, part]\nfields:\n  order_id: text\n  line_no: integer\n  tax: text\n  part: text\n  amount: decimal\n",
    ]

    static let twoLevels = """
        kind: pull
        worksheet: shop_orders
        request: { url: "{{env.API}}/orders", retry: { attempts: 1 } }
        records: $.data
        fields: { id: $.order_ref, status: $.status }
        children:
          - worksheet: line_items
            records: $.lines
            fields: { order_id: $parent.id, line_no: $.no, sku: $.sku }
            children:
              - worksheet: tax_lines
                records: $.taxes
                fields: { order_id: $parent.order_id, line_no: $parent.line_no, tax: $.name, amount: $.amount }
        """

    static let threeLevels = twoLevels + """

                    children:
                      - worksheet: tax_parts
                        records: $.parts
                        fields: { order_id: $parent.order_id, line_no: $parent.line_no, tax: $parent.tax, part: $.id, amount: $.amount }
            """

    static func withAPI(job: String, backend: Backend = .sqlite, _ body: (Harness, ScriptedResponses) async throws -> Void) async throws {
        let script = ScriptedResponses()
        try await withLoopbackServer(ScriptedAPI.router(script)) { server in
            var files = schemas
            files["sheetsync.yml"] = "env: { API: '\(server.baseURL)' }\n"
            files["jobs/orders.yml"] = job
            try await withHarness(files: files, environment: [:], backend: backend) { harness in try await body(harness, script) }
        }
    }

    static func lines(_ harness: Harness, _ sql: String) throws -> [String] {
        try harness.rows(sql).map { $0[0] as String }
    }

    static let lineItems = "SELECT order_id || '/' || line_no || '/' || sku FROM line_items ORDER BY 1"
    static let taxLines = "SELECT order_id || '/' || line_no || '/' || tax || '/' || amount FROM tax_lines ORDER BY 1"
    static let taxParts = "SELECT order_id || '/' || line_no || '/' || tax || '/' || part || '/' || amount FROM tax_parts ORDER BY 1"

    @Test(arguments: Backend.allCases) func twoLevelsLandAndInnerChildrenAreReplacedPerParent(_ backend: Backend) async throws {
        try await Self.withAPI(job: Self.twoLevels, backend: backend) { harness, script in
            let job = try harness.job("orders")
            await script.set(body: """
                {"data": [
                  {"order_ref": "A", "status": "new", "lines": [
                    {"no": 1, "sku": "X", "taxes": [{"name": "vat", "amount": "1.9"}, {"name": "eco", "amount": "0.1"}]},
                    {"no": 2, "sku": "Y", "taxes": [{"name": "vat", "amount": "2"}]}]},
                  {"order_ref": "B", "status": "new", "lines": [{"no": 1, "sku": "Z", "taxes": [{"name": "vat", "amount": "3"}]}]}
                ]}
                """)
            let first = await harness.runner.run(job)
            #expect(first.status == .succeeded, "\(first.line)")
            #expect(first.counts.byWorksheet["tax_lines"]?.inserted == 4)
            #expect(try Self.lines(harness, Self.lineItems) == ["A/1/X", "A/2/Y", "B/1/Z"])
            #expect(try Self.lines(harness, Self.taxLines) == ["A/1/eco/0.1", "A/1/vat/1.9", "A/2/vat/2", "B/1/vat/3"])

            // Order A loses its 'eco' tax on line 1, and line 2 with its taxes; B is the same.
            await script.set(body: """
                {"data": [
                  {"order_ref": "A", "status": "paid", "lines": [{"no": 1, "sku": "X", "taxes": [{"name": "vat", "amount": "1.9"}]}]},
                  {"order_ref": "B", "status": "new", "lines": [{"no": 1, "sku": "Z", "taxes": [{"name": "vat", "amount": "3"}]}]}
                ]}
                """)
            let second = await harness.runner.run(job)
            #expect(second.status == .succeeded, "\(second.line)")
            #expect(try Self.lines(harness, Self.lineItems) == ["A/1/X", "B/1/Z"])
            #expect(try Self.lines(harness, Self.taxLines) == ["A/1/vat/1.9", "B/1/vat/3"])
            #expect(second.counts.deleted["line_items"] == 1)
            // 'eco' of line A/1, and 'vat' of the removed line A/2 (a removed row takes its children along).
            #expect(second.counts.deleted["tax_lines"] == 2)
            #expect(second.counts.byWorksheet["tax_lines"] == UpsertCounts(unchanged: 2))
        }
    }

    @Test(arguments: Backend.allCases) func threeLevelsLandInOnePageAndTheInnermostLevelIsReplaced(_ backend: Backend) async throws {
        try await Self.withAPI(job: Self.threeLevels, backend: backend) { harness, script in
            let job = try harness.job("orders")
            await script.set(body: """
                {"data": [{"order_ref": "A", "status": "new", "lines": [
                  {"no": 1, "sku": "X", "taxes": [
                    {"name": "vat", "amount": "1.9", "parts": [{"id": "state", "amount": "1.25"}, {"id": "city", "amount": "0.75"}]},
                    {"name": null, "amount": "5", "parts": [{"id": "lost", "amount": "5"}]}]}]}
                ]}
                """)
            let first = await harness.runner.run(job)
            #expect(first.status == .partial, "\(first.line)")
            #expect(try Self.lines(harness, Self.taxLines) == ["A/1/vat/1.9"])
            #expect(try Self.lines(harness, Self.taxParts) == ["A/1/vat/city/0.75", "A/1/vat/state/1.25"])
            // The tax line without a key is rejected, and its parts with it (they could not be linked).
            let rejects = try harness.rows("SELECT worksheet, reason FROM _sheetsync_rejects")
            #expect(rejects.map { $0["worksheet"] as String } == ["tax_lines"])
            #expect((rejects.first?["reason"] as String?)?.contains("key field 'tax' is missing") == true)

            await script.set(body: """
                {"data": [{"order_ref": "A", "status": "new", "lines": [
                  {"no": 1, "sku": "X", "taxes": [{"name": "vat", "amount": "1.9", "parts": [{"id": "state", "amount": "1.5"}]}]}]}
                ]}
                """)
            let second = await harness.runner.run(job)
            #expect(second.status == .succeeded, "\(second.line)")
            #expect(try Self.lines(harness, Self.taxParts) == ["A/1/vat/state/1.5"])
            #expect(second.counts.deleted["tax_parts"] == 1)
            #expect(second.counts.byWorksheet["tax_parts"] == UpsertCounts(updated: 1))
            #expect(second.worksheets == ["shop_orders", "line_items", "tax_lines", "tax_parts"])
        }
    }
}
