import Foundation
import Testing
@testable import SheetSyncCore
@testable import SheetSyncFiles

/// What `validate` says about `children`: `$parent.NAME` names a field the parent
/// mapping fills, `$parent_json.…` reads the parent's JSON, and children nest to any
/// depth, each level checked at `file:line:col` (issue 15, items 1 and 12).
struct ChildMappingFilesTests {
    static let schemas: [String: String] = TestProject.baseFiles.merging([
        "schema/invoices.yml": "key: [ref]\nfields:\n  ref: text\n  total: decimal\n",
        "schema/invoice_lines.yml": "key: [invoice_ref, line_no]\nfields:\n  invoice_ref: text\n  line_no: integer\n  net: decimal\n",
        "schema/tax_lines.yml": "key: [order_id, sku, tax]\nfields:\n  order_id: text\n  sku: text\n  tax: text\n  amount: decimal\n",
        "schema/tax_parts.yml": "key: [order_id, sku, tax, part]\nfields:\n  order_id: text\n  sku: text\n  tax: text\n  part: text\n",
    ]) { $1 }

    static func load(_ job: String) throws -> (errors: [String], loaded: Project) {
        var files = schemas
        files["jobs/a.yml"] = job
        let project = try TestProject(files: files)
        let loaded = ProjectLoader.load(directory: project.directory, environment: [:])
        return (loaded.diagnostics.map(\.description), loaded)
    }

    static let invoiceHead = """
        kind: pull
        worksheet: invoices
        request: { url: 'http://x' }
        fields: { ref: $.invoice_ref, total: $.total }
        children:
          - worksheet: invoice_lines
            records: $.lines

        """

    @Test func aRenamedKeyIsLinkedByItsFieldName() throws {
        let (errors, loaded) = try Self.load(Self.invoiceHead + "    fields: { invoice_ref: $parent.ref, line_no: $.no, net: $parent_json.totals.net }\n")
        #expect(errors == [])
        #expect(loaded.jobs.count == 1)
    }

    @Test func theParentsJSONMemberNameIsNotAField() throws {
        let (errors, _) = try Self.load(Self.invoiceHead + "    fields: { invoice_ref: $parent.invoice_ref, line_no: $.no }\n")
        #expect(errors.sorted() == [
            "jobs/a.yml:8:28: error: '$parent.invoice_ref' names no field mapped into 'invoices' (its fields here: ref, total); '$parent.NAME' is the parent row's field value, and the parent's JSON is '$parent_json.invoice_ref'",
            "jobs/a.yml:8:13: error: children in 'invoice_lines' must map 'invoices' key field 'ref' from the parent, such as 'invoice_ref: $parent.ref'; it links each row to its parent",
        ].sorted())
    }

    @Test func aPathBelowAParentFieldIsRefused() throws {
        let (errors, _) = try Self.load(Self.invoiceHead + "    fields: { invoice_ref: $parent.ref, line_no: $parent.meta.no }\n")
        #expect(errors.sorted() == [
            "jobs/a.yml:8:50: error: '$parent.meta.no' must name one field of 'invoices', as in '$parent.ref'; for a path inside the parent's JSON write '$parent_json.meta.no'",
        ].sorted())
    }

    static let nestedHead = """
        kind: pull
        worksheet: orders
        request: { url: 'http://x' }
        fields: { id: $.order_id, status: $.status }
        children:
          - worksheet: order_items
            records: $.items
            fields: { order_id: $parent.id, sku: $.code }
            children:
              - worksheet: tax_lines
                records: $.taxes

        """

    @Test func nestedChildrenValidate() throws {
        let job = Self.nestedHead + """
                    fields: { order_id: $parent.order_id, sku: $parent.sku, tax: $.name, amount: $.amount }
                    children:
                      - worksheet: tax_parts
                        records: $.parts
                        fields: { order_id: $parent.order_id, sku: $parent.sku, tax: $parent.tax, part: $.id }
            """
        let (errors, loaded) = try Self.load(job)
        #expect(errors == [])
        guard case .pull(let pull)? = loaded.jobs.first?.kind else { Issue.record("no pull job"); return }
        #expect(pull.children.map(\.worksheet) == ["order_items"])
        #expect(pull.children[0].children.map(\.worksheet) == ["tax_lines"])
        #expect(pull.children[0].children[0].children.map(\.worksheet) == ["tax_parts"])
        #expect(pull.allChildren.map(\.worksheet) == ["order_items", "tax_lines", "tax_parts"])
    }

    @Test func aBadInnerMappingIsReportedWhereItIs() throws {
        let job = Self.nestedHead + """
                    fields: { order_id: $parent.order_id, tax: $.name, amount: $parent.quantity }
                    children:
                      - worksheet: tax_part
                        records: $.parts
                        fields: { part: $.id }
            """
        let (errors, _) = try Self.load(job)
        #expect(errors.sorted() == [
            "jobs/a.yml:12:68: error: '$parent.quantity' names no field mapped into 'order_items' (its fields here: order_id, sku); '$parent.NAME' is the parent row's field value, and the parent's JSON is '$parent_json.quantity'",
            "jobs/a.yml:12:17: error: children in 'tax_lines' must map 'order_items' key field 'sku' from the parent, such as 'order_item_sku: $parent.sku'; it links each row to its parent",
            "jobs/a.yml:14:24: error: worksheet 'tax_part' is not defined in schema/, did you mean 'tax_parts'?",
        ].sorted())
    }
}
