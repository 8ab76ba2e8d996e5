import Foundation
import SheetSyncTesting
import Testing
@testable import SheetSyncCore
@testable import SheetSyncStore

/// Child replacement in `writePage`: both statement layouts (the `NOT IN` form for a
/// child key of link columns plus one column, and the read-and-delete form for the
/// rest) must delete exactly the children a page no longer lists. On both stores.
struct PageWriteTests {
    static let orders = WorksheetDefinition(name: "orders", key: ["id"], fields: [.init(name: "id", type: .text)])

    /// Writes one page of parents `parents` whose children are `children` (parent id, child key parts…).
    func writePage(_ database: any WorksheetStore, child: WorksheetDefinition, parents: [String], children: [[SQLValue]]) throws -> WriteCounts {
        let rows = RowBatch(columns: ["id"], rows: parents.map { [.text($0)] })
        let childRows = ChildRows(worksheet: child.name, linkColumns: ["order_id"], parentKeys: parents.map { [.text($0)] },
                                  rows: RowBatch(columns: child.fields.map(\.name), rows: children))
        return try database.writeTestPage(rows: [rows], into: Self.orders, children: [(childRows, child)])
    }

    func childKeys(_ fixture: StoreFixture, _ child: WorksheetDefinition) throws -> [String] {
        let columns = child.fields.map(\.name).map { "coalesce(CAST(\"\($0)\" AS TEXT), '')" }.joined(separator: " || '/' || ")
        return try fixture.strings("SELECT \(columns) FROM \"\(child.name)\" ORDER BY 1")
    }

    @Test(arguments: Backend.allCases, [
        // link + one column: the NOT IN statement
        WorksheetDefinition(name: "items", key: ["order_id", "sku"], fields: [.init(name: "order_id", type: .text), .init(name: "sku", type: .text)]),
        // link + two columns: read the keys, delete the missing ones
        WorksheetDefinition(name: "items", key: ["order_id", "sku", "lot"], fields: [
            .init(name: "order_id", type: .text), .init(name: "sku", type: .text), .init(name: "lot", type: .integer)]),
    ])
    func childrenNoLongerListedAreDeleted(backend: Backend, child: WorksheetDefinition) throws {
        let file = try StoreFixture(backend)
        let database = file.store
        try database.migrate([Self.orders, child])
        let extra: [SQLValue] = child.fields.count == 3 ? [.integer(1)] : []
        func item(_ order: String, _ sku: String) -> [SQLValue] { [.text(order), .text(sku)] + extra }

        _ = try writePage(database, child: child, parents: ["o1", "o2", "o3"],
                          children: [item("o1", "A"), item("o1", "B"), item("o1", "C"), item("o2", "A"), item("o3", "Z")])
        // o1 drops B, o2 lists nothing any more, o3 is not in this page and keeps its child.
        let counts = try writePage(database, child: child, parents: ["o1", "o2"], children: [item("o1", "A"), item("o1", "C")])
        #expect(counts.deleted["items"] == 2)
        let suffix = child.fields.count == 3 ? "/1" : ""
        #expect(try childKeys(file, child) == ["o1/A", "o1/C", "o3/Z"].map { $0 + suffix })
    }

    /// The page-level shortcut (count the parents' children, skip the deletes when the
    /// page lists them all) must not be fooled by a child listed twice.
    @Test(arguments: Backend.allCases)
    func aChildListedTwiceDoesNotHideAStaleOne(backend: Backend) throws {
        let file = try StoreFixture(backend)
        let database = file.store
        let child = WorksheetDefinition(name: "items", key: ["order_id", "sku"], fields: [.init(name: "order_id", type: .text), .init(name: "sku", type: .text)])
        try database.migrate([Self.orders, child])
        _ = try writePage(database, child: child, parents: ["o1"], children: [[.text("o1"), .text("A")], [.text("o1"), .text("B")]])
        let counts = try writePage(database, child: child, parents: ["o1"], children: [[.text("o1"), .text("A")], [.text("o1"), .text("A")]])
        #expect(counts.deleted["items"] == 1)
        #expect(try childKeys(file, child) == ["o1/A"])
        // The same parent twice in one page: its children are the union of both listings.
        let twice = try writePage(database, child: child, parents: ["o1", "o1"], children: [[.text("o1"), .text("A")], [.text("o1"), .text("C")]])
        #expect(twice.deleted["items", default: 0] == 0)
        #expect(try childKeys(file, child) == ["o1/A", "o1/C"])
    }

    /// The first-load shortcut (every listed child was inserted: one count) must still find
    /// children the page no longer lists when all it lists is new, and orphans left by
    /// another writer under a new parent.
    @Test(arguments: Backend.allCases)
    func childrenAllNewDoNotHideStaleOnes(backend: Backend) throws {
        let file = try StoreFixture(backend)
        let database = file.store
        let child = WorksheetDefinition(name: "items", key: ["order_id", "sku"], fields: [.init(name: "order_id", type: .text), .init(name: "sku", type: .text)])
        try database.migrate([Self.orders, child])
        _ = try writePage(database, child: child, parents: ["o1"], children: [[.text("o1"), .text("A")], [.text("o1"), .text("B")]])
        let counts = try writePage(database, child: child, parents: ["o1"], children: [[.text("o1"), .text("C")]])
        #expect(counts.byWorksheet["items"]?.inserted == 1)
        #expect(counts.deleted["items"] == 2)
        #expect(try childKeys(file, child) == ["o1/C"])
        // An orphan written by someone else, then its parent's first page.
        try file.execute("INSERT INTO items (order_id, sku) VALUES ('o9', 'X')")
        let first = try writePage(database, child: child, parents: ["o9"], children: [[.text("o9"), .text("Y")]])
        #expect(first.deleted["items"] == 1)
        #expect(try childKeys(file, child) == ["o1/C", "o9/Y"])
    }

    @Test(arguments: Backend.allCases)
    func requestsAreLoggedInThePageTransaction(backend: Backend) throws {
        let file = try StoreFixture(backend)
        let database = file.store
        try database.migrate([Self.orders])
        let run = try database.beginRun(job: "j", trigger: .cli)
        let attempt = RequestAttempt(method: "GET", url: "http://127.0.0.1/x", status: 200, durationMilliseconds: 3, bytes: 10, attempt: 1, error: nil)
        _ = try database.writeTestPage(rows: [RowBatch(columns: ["id"], rows: [[.text("a")]])], into: Self.orders, run: run, requests: [attempt])
        #expect(try file.strings("SELECT url || ' ' || status FROM _sheetsync_requests WHERE run_id = \(run)") == ["http://127.0.0.1/x 200"])
    }
}
