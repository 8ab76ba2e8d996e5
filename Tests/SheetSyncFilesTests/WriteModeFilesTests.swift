import Foundation
import Testing
@testable import SheetSyncCore
@testable import SheetSyncFiles

/// `write:` in job files (issue 16, item 8): the default, the inheritance by children, a
/// child's own mode, and an unknown mode refused at its position.
struct WriteModeFilesTests {
    static func job(write: String?, items: String? = nil, taxes: String? = nil) -> String {
        func line(_ mode: String?, indent: String) -> String { mode.map { "\(indent)write: \($0)\n" } ?? "" }
        return """
            kind: pull
            worksheet: orders
            request: { url: 'http://x' }
            fields: { id: $.order_id, status: $.status }

            """ + line(write, indent: "") + """
            children:
              - worksheet: order_items
                records: $.items
                fields: { order_id: $parent.id, sku: $.code }

            """ + line(items, indent: "    ") + """
                children:
                  - worksheet: tax_lines
                    records: $.taxes
                    fields: { order_id: $parent.order_id, sku: $parent.sku, tax: $.name }

            """ + line(taxes, indent: "        ")
    }

    static func modes(_ job: String) throws -> (errors: [String], modes: [WriteMode]) {
        var files = ChildMappingFilesTests.schemas
        files["jobs/a.yml"] = job
        let project = try TestProject(files: files)
        let loaded = ProjectLoader.load(directory: project.directory, environment: [:])
        guard case .pull(let pull)? = loaded.jobs.first?.kind else { return (loaded.diagnostics.map(\.description), []) }
        return (loaded.diagnostics.map(\.description), [pull.write] + pull.allChildren.map(\.write))
    }

    @Test(arguments: [
        (nil, nil, nil, [WriteMode.upsert, .upsert, .upsert]),
        ("insert", nil, nil, [.insert, .insert, .insert]),
        ("update", "upsert", nil, [.update, .upsert, .upsert]),
        (nil, "update", "insert", [.upsert, .update, .insert]),
    ] as [(String?, String?, String?, [WriteMode])])
    func childrenTakeTheirParentsModeUnlessTheySayOtherwise(job: String?, items: String?, taxes: String?, expected: [WriteMode]) throws {
        let (errors, modes) = try Self.modes(Self.job(write: job, items: items, taxes: taxes))
        #expect(errors == [])
        #expect(modes == expected)
    }

    @Test func anUnknownModeIsRefusedWhereItIs() throws {
        let (errors, _) = try Self.modes(Self.job(write: "add", items: "updte"))
        #expect(errors == [
            "jobs/a.yml:5:8: error: invalid value 'add' for 'write' (expected one of: upsert, insert, update)",
            "jobs/a.yml:10:12: error: invalid value 'updte' for 'children.write', did you mean 'update'? (expected one of: upsert, insert, update)",
        ])
    }

    /// `skip_unchanged` on a job with grandchildren does nothing, and `validate` says so.
    @Test func skipUnchangedWithNestedChildrenIsAWarning() throws {
        let nested = Self.job(write: nil).replacingOccurrences(of: "children:\n  - worksheet: order_items", with: "skip_unchanged: true\nchildren:\n  - worksheet: order_items")
        let (messages, _) = try Self.modes(nested)
        #expect(messages.contains { $0.contains("warning: 'skip_unchanged' has no effect here") }, "\(messages)")
        let (plain, _) = try Self.modes(Self.job(write: nil))
        #expect(!plain.contains { $0.contains("skip_unchanged") })
    }

    /// So does `skip_unchanged` on records that are not a chain of members: each record's
    /// bytes are digested as they are split out of the response.
    @Test func skipUnchangedOnRecordsThatAreNotStreamedIsAWarning() throws {
        func flat(_ records: String) -> String {
            "kind: pull\nworksheet: orders\nrequest: { url: 'http://x' }\nskip_unchanged: true\nrecords: \"\(records)\"\nfields: { id: $.order_id }\n"
        }
        let (wildcard, _) = try Self.modes(flat("$.data[*]"))
        #expect(wildcard.contains { $0.contains("warning: 'skip_unchanged' has no effect here") }, "\(wildcard)")
        let (chain, _) = try Self.modes(flat("$.data"))
        #expect(!chain.contains { $0.contains("skip_unchanged") }, "\(chain)")
    }
}
