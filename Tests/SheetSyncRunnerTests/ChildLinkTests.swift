import Foundation
import SheetSyncCore
@testable import SheetSyncRunner
import SheetSyncStore
import SheetSyncTesting
import Testing

/// `$parent.NAME` is the parent's mapped field value after conversion, whatever its JSON
/// member is called (issue 15, item 1), through a real loopback server and SQLite file.
struct ChildLinkTests {
    static let schemas: [String: String] = [
        "schema/invoices.yml": "worksheet: invoices\nkey: [ref]\nfields:\n  ref: text\n  total: decimal\n",
        "schema/invoice_lines.yml": "worksheet: invoice_lines\nkey: [invoice_ref, line_no]\nfields:\n  invoice_ref: text\n  line_no: integer\n  amount: decimal\n",
        "schema/ledgers.yml": "worksheet: ledgers\nkey: [region, number]\nfields:\n  region: text\n  number: integer\n",
        "schema/ledger_lines.yml": "worksheet: ledger_lines\nkey: [region, number, line_no]\nfields:\n  region: text\n  number: integer\n  line_no: integer\n  amount: decimal\n",
    ]

    /// Runs `body` with the scripted API on 127.0.0.1 and a project whose job `j` is `job`.
    static func withAPI(job: String, backend: Backend = .sqlite, _ body: (Harness, ScriptedResponses) async throws -> Void) async throws {
        let script = ScriptedResponses()
        try await withLoopbackServer(ScriptedAPI.router(script)) { server in
            var files = schemas
            files["sheetsync.yml"] = "env: { API: '\(server.baseURL)' }\n"
            files["jobs/j.yml"] = job
            try await withHarness(files: files, environment: [:], backend: backend) { harness in try await body(harness, script) }
        }
    }

    struct LinkCase: CustomTestStringConvertible, Sendable {
        var name: String
        var job: String
        /// The first response, then the second (one child of the first parent gone, one changed).
        var bodies: [String]
        var childQuery: String
        var expected: [[String]]
        var testDescription: String { name }
    }

    static func invoiceJob(fields: String) -> String {
        """
        kind: pull
        worksheet: invoices
        request: { url: "{{env.API}}/invoices", retry: { attempts: 1 } }
        records: $.data
        fields: \(fields)
        children:
          - worksheet: invoice_lines
            records: $.lines
            fields: { invoice_ref: $parent.ref, line_no: $.no, amount: $.amount }
        """
    }

    static let lineQuery = "SELECT invoice_ref || '/' || line_no || '/' || amount FROM invoice_lines ORDER BY 1"
    static let lineRows = [["INV-1/1/4", "INV-1/2/6", "INV-2/1/3"], ["INV-1/2/7", "INV-2/1/3"]]

    static let cases: [LinkCase] = [
        LinkCase(name: "a renamed key", job: invoiceJob(fields: "{ ref: $.invoice_ref, total: $.total }"), bodies: [
            #"{"data": [{"invoice_ref": "INV-1", "total": "10", "lines": [{"no": 1, "amount": "4"}, {"no": 2, "amount": "6"}]}, {"invoice_ref": "INV-2", "total": "3", "lines": [{"no": 1, "amount": "3"}]}]}"#,
            #"{"data": [{"invoice_ref": "INV-1", "total": "10", "lines": [{"no": 2, "amount": "7"}]}, {"invoice_ref": "INV-2", "total": "3", "lines": [{"no": 1, "amount": "3"}]}]}"#,
        ], childQuery: lineQuery, expected: lineRows),
        LinkCase(name: "a nested parent key", job: invoiceJob(fields: "{ ref: $.meta.ref, total: $.total }"), bodies: [
            #"{"data": [{"meta": {"ref": "INV-1"}, "total": "10", "lines": [{"no": 1, "amount": "4"}, {"no": 2, "amount": "6"}]}, {"meta": {"ref": "INV-2"}, "total": "3", "lines": [{"no": 1, "amount": "3"}]}]}"#,
            #"{"data": [{"meta": {"ref": "INV-1"}, "total": "10", "lines": [{"no": 2, "amount": "7"}]}, {"meta": {"ref": "INV-2"}, "total": "3", "lines": [{"no": 1, "amount": "3"}]}]}"#,
        ], childQuery: lineQuery, expected: lineRows),
        LinkCase(name: "a numeric JSON key stored as text", job: invoiceJob(fields: "{ ref: $.invoice_no, total: $.total }"), bodies: [
            #"{"data": [{"invoice_no": 1001, "total": "10", "lines": [{"no": 1, "amount": "4"}, {"no": 2, "amount": "6"}]}, {"invoice_no": 1002, "total": "3", "lines": [{"no": 1, "amount": "3"}]}]}"#,
            #"{"data": [{"invoice_no": 1001, "total": "10", "lines": [{"no": 2, "amount": "7"}]}, {"invoice_no": 1002, "total": "3", "lines": [{"no": 1, "amount": "3"}]}]}"#,
        ], childQuery: lineQuery.replacingOccurrences(of: "invoice_ref ||", with: "typeof(invoice_ref) || ':' || invoice_ref ||"),
           expected: [["text:1001/1/4", "text:1001/2/6", "text:1002/1/3"], ["text:1001/2/7", "text:1002/1/3"]]),
        LinkCase(name: "a two-field key", job: """
            kind: pull
            worksheet: ledgers
            request: { url: "{{env.API}}/ledgers", retry: { attempts: 1 } }
            records: $.data
            fields: { region: $.site.region, number: $.no }
            children:
              - worksheet: ledger_lines
                records: $.lines
                fields: { region: $parent.region, number: $parent.number, line_no: $.n, amount: $.amount }
            """, bodies: [
            #"{"data": [{"site": {"region": "EU"}, "no": "7", "lines": [{"n": 1, "amount": "4"}, {"n": 2, "amount": "6"}]}, {"site": {"region": "US"}, "no": 7, "lines": [{"n": 1, "amount": "3"}]}]}"#,
            #"{"data": [{"site": {"region": "EU"}, "no": "7", "lines": [{"n": 2, "amount": "7"}]}, {"site": {"region": "US"}, "no": 7, "lines": [{"n": 1, "amount": "3"}]}]}"#,
        ], childQuery: "SELECT region || '/' || number || '/' || line_no || '/' || amount FROM ledger_lines ORDER BY 1",
           expected: [["EU/7/1/4", "EU/7/2/6", "US/7/1/3"], ["EU/7/2/7", "US/7/1/3"]]),
    ]

    @Test(arguments: cases)
    func childRowsLinkToTheParentsMappedKey(_ example: LinkCase) async throws {
        try await Self.withAPI(job: example.job) { harness, script in
            let job = try harness.job("j")
            for (run, body) in example.bodies.enumerated() {
                await script.set(body: body)
                let summary = await harness.runner.run(job)
                #expect(summary.status == .succeeded, "run \(run + 1): \(summary.line)")
                #expect(try harness.count("_sheetsync_rejects") == 0)
                #expect(try harness.rows(example.childQuery).map { $0[0] as String } == example.expected[run], "run \(run + 1)")
                if run == 1 { #expect(summary.counts.deleted.values.reduce(0, +) == 1) }
            }
        }
    }

    @Test(arguments: Backend.allCases) func parentJSONReadsTheParentRecordAsSent(_ backend: Backend) async throws {
        let job = Self.invoiceJob(fields: "{ ref: $.invoice_ref, total: $.total }")
            .replacingOccurrences(of: "amount: $.amount }", with: "amount: $parent_json.totals.net }")
        try await Self.withAPI(job: job, backend: backend) { harness, script in
            await script.set(body: #"{"data": [{"invoice_ref": "INV-1", "totals": {"net": "8.5"}, "lines": [{"no": 1}]}]}"#)
            let summary = await harness.runner.run(try harness.job("j"))
            #expect(summary.status == .succeeded, "\(summary.line)")
            #expect(try harness.rows(Self.lineQuery).map { $0[0] as String } == ["INV-1/1/8.5"])
        }
    }
}
