import SheetSyncCore
@testable import SheetSyncTransform
import Testing

/// `$parent.NAME` takes the parent's mapped field value after conversion; the parent's
/// JSON is `$parent_json.…` (issue 15, item 1).
struct ParentFieldTests {
    static let invoices = WorksheetDefinition(name: "invoices", key: ["ref"], fields: [.init(name: "ref", type: .text), .init(name: "total", type: .decimal)])
    static let lines = WorksheetDefinition(name: "lines", key: ["invoice_ref", "no"], fields: [
        .init(name: "invoice_ref", type: .text), .init(name: "no", type: .integer), .init(name: "net", type: .decimal),
    ])
    static let ledgers = WorksheetDefinition(name: "ledgers", key: ["region", "number"], fields: [.init(name: "region", type: .text), .init(name: "number", type: .integer)])
    static let ledgerLines = WorksheetDefinition(name: "ledger_lines", key: ["region", "number", "no"], fields: [
        .init(name: "region", type: .text), .init(name: "number", type: .integer), .init(name: "no", type: .integer),
    ])

    static func mappings(_ pairs: KeyValuePairs<String, String>) throws -> [FieldMapping] {
        try pairs.map { FieldMapping(field: $0.key, path: try JSONPath(parsing: $0.value)) }
    }

    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var parent: WorksheetDefinition
        var child: WorksheetDefinition
        var parentFields: KeyValuePairs<String, String>
        var childFields: KeyValuePairs<String, String>
        var record: String
        var parentKey: [SQLValue]
        var childRows: [[SQLValue]]
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "a renamed key", parent: invoices, child: lines, parentFields: ["ref": "$.invoice_ref"],
             childFields: ["invoice_ref": "$parent.ref", "no": "$.no"],
             record: #"{"invoice_ref": "INV-1", "lines": [{"no": 1}, {"no": 2}]}"#,
             parentKey: [.text("INV-1")], childRows: [[.text("INV-1"), .integer(1)], [.text("INV-1"), .integer(2)]]),
        Case(name: "a nested parent key", parent: invoices, child: lines, parentFields: ["ref": "$.meta.ref"],
             childFields: ["invoice_ref": "$parent.ref", "no": "$.no"],
             record: #"{"meta": {"ref": "INV-1"}, "lines": [{"no": 1}]}"#,
             parentKey: [.text("INV-1")], childRows: [[.text("INV-1"), .integer(1)]]),
        Case(name: "a numeric JSON key stored as text", parent: invoices, child: lines, parentFields: ["ref": "$.invoice_no"],
             childFields: ["invoice_ref": "$parent.ref", "no": "$.no"],
             record: #"{"invoice_no": 1001, "lines": [{"no": 1}]}"#,
             parentKey: [.text("1001")], childRows: [[.text("1001"), .integer(1)]]),
        Case(name: "a two-field key", parent: ledgers, child: ledgerLines, parentFields: ["region": "$.site.region", "number": "$.no"],
             childFields: ["region": "$parent.region", "number": "$parent.number", "no": "$.n"],
             record: #"{"site": {"region": "EU"}, "no": "7", "lines": [{"n": 1}]}"#,
             parentKey: [.text("EU"), .integer(7)], childRows: [[.text("EU"), .integer(7), .integer(1)]]),
        Case(name: "the parent's JSON by its own spelling", parent: invoices, child: lines, parentFields: ["ref": "$.invoice_ref"],
             childFields: ["invoice_ref": "$parent.ref", "no": "$.no", "net": "$parent_json.totals.net"],
             record: #"{"invoice_ref": "INV-1", "totals": {"net": 8.5}, "lines": [{"no": 1}]}"#,
             parentKey: [.text("INV-1")], childRows: [[.text("INV-1"), .integer(1), .text("8.5")]]),
    ]

    @Test(arguments: cases)
    func childRowsTakeTheParentsMappedValues(_ example: Case) throws {
        let child = ChildMapping(worksheet: example.child.name, records: try JSONPath(parsing: "$.lines"), fields: try Self.mappings(example.childFields))
        let job = PullJob(request: HTTPRequestSpec(url: Template(literal: "http://x")), records: try JSONPath(parsing: "$"),
                          fields: try Self.mappings(example.parentFields), children: [child])
        let mapper = try GetMultipleData(jobName: "j", job: job, worksheet: example.parent,
                                         worksheets: [example.parent.name: example.parent, example.child.name: example.child])
        let page = try mapper.transform(try JSONReader.parse(example.record))
        #expect(page.rejects == [])
        #expect(page.rows.rows.count == 1)
        #expect(page.children.count == 1)
        #expect(page.children[0].parentKeys == [example.parentKey])
        #expect(page.children[0].rows.rows == example.childRows)
    }

    @Test func pathsBelowAParentFieldAreRefused() throws {
        let child = ChildMapping(worksheet: "lines", records: try JSONPath(parsing: "$.lines"),
                                 fields: try Self.mappings(["invoice_ref": "$parent.ref", "no": "$parent.meta.no"]))
        let job = PullJob(request: HTTPRequestSpec(url: Template(literal: "http://x")), records: try JSONPath(parsing: "$"),
                          fields: try Self.mappings(["ref": "$.invoice_ref"]), children: [child])
        let error = #expect(throws: PageReadError.self) {
            try GetMultipleData(jobName: "j", job: job, worksheet: Self.invoices, worksheets: ["invoices": Self.invoices, "lines": Self.lines])
        }
        #expect(error?.code == .invalidJob)
        #expect(error?.message.contains("$parent_json") == true, "\(error?.message ?? "")")
    }
}
