import Foundation
import SheetSyncTesting
import Testing
@testable import SheetSyncCore
@testable import SheetSyncStore

/// `write: upsert | insert | update` (issue 16, item 8) on both stores: what each mode does
/// to existing and unknown keys, to children, to the counts and to the changes captured
/// for push jobs.
struct WriteModeTests {
    static let orders = WorksheetDefinition(name: "orders", key: ["id"], fields: [
        .init(name: "id", type: .integer), .init(name: "status", type: .text),
    ])
    /// The link is text while the parent key is an integer: skipped parents are matched
    /// to their children after the same conversion the transform makes.
    static let items = WorksheetDefinition(name: "items", key: ["order_id", "sku"], fields: [
        .init(name: "order_id", type: .text), .init(name: "sku", type: .text), .init(name: "qty", type: .integer),
    ])
    static let lots = WorksheetDefinition(name: "lots", key: ["order_id", "sku", "lot"], fields: [
        .init(name: "order_id", type: .text), .init(name: "sku", type: .text), .init(name: "lot", type: .text),
    ])

    /// A migrated database with change capture on `orders` and `items` (as a push job would).
    static func database(_ file: StoreFixture) throws -> any WorksheetStore {
        try file.store.migrate([orders, items, lots], captured: ["orders", "items"])
        return file.store
    }

    static func orderRows(_ rows: [(Int64, String)]) -> RowBatch {
        RowBatch(columns: ["id", "status"], rows: rows.map { [.integer($0.0), .text($0.1)] })
    }

    /// Children of `parents`: (order id, sku, qty).
    static func itemRows(parents: [Int64], _ rows: [(Int64, String, Int64)], write: WriteMode) -> ChildRows {
        ChildRows(worksheet: "items", linkColumns: ["order_id"], parentKeys: parents.map { [.text(String($0))] },
                  rows: RowBatch(columns: ["order_id", "sku", "qty"], rows: rows.map { [.text(String($0.0)), .text($0.1), .integer($0.2)] }),
                  write: write)
    }

    static func writePage(_ database: any WorksheetStore, _ rows: [(Int64, String)], items: ChildRows? = nil,
                          write: WriteMode) throws -> WriteCounts {
        try database.writeTestPage(rows: [orderRows(rows)], into: orders, children: items.map { [($0, Self.items)] } ?? [], write: write)
    }

    func strings(_ file: StoreFixture, _ sql: String) throws -> [String] {
        try file.strings(sql)
    }

    func outbox(_ file: StoreFixture) throws -> [String] {
        try strings(file, "SELECT worksheet || ' ' || operation || ' ' || record_key FROM _sheetsync_outbox ORDER BY seq")
    }

    @Test(arguments: Backend.allCases)
    func insertLeavesAnExistingRowUntouchedEvenWhenTheResponseDiffers(backend: Backend) throws {
        let file = try StoreFixture(backend)
        let database = try Self.database(file)
        _ = try Self.writePage(database, [(1, "new")], write: .upsert)
        let before = try strings(file, "SELECT status || ' ' || _updated_at || ' ' || _synced_at FROM orders WHERE id = 1")
        let captured = try outbox(file)
        Thread.sleep(forTimeInterval: 0.01) // a write would show a later timestamp
        let counts = try Self.writePage(database, [(1, "shipped"), (2, "new")], write: .insert)
        #expect(counts.byWorksheet["orders"] == UpsertCounts(inserted: 1, updated: 0, unchanged: 1, skipped: 0))
        #expect(try strings(file, "SELECT status || ' ' || _updated_at || ' ' || _synced_at FROM orders WHERE id = 1") == before)
        #expect(try strings(file, "SELECT id || ':' || status FROM orders ORDER BY id") == ["1:new", "2:new"])
        // Only the new row is captured for push jobs.
        #expect(try outbox(file) == captured + ["orders insert [2]"])
        // The same through the SQLite store's one-batch upsert.
        if let sqlite = database as? WorksheetDatabase {
            #expect(try sqlite.upsert(Self.orderRows([(1, "cancelled")]), into: Self.orders, source: "j", mode: .insert) == UpsertCounts(unchanged: 1))
            #expect(try strings(file, "SELECT status FROM orders WHERE id = 1") == ["new"])
        }
    }

    @Test(arguments: Backend.allCases)
    func updateSkipsUnknownKeysAndCountsThem(backend: Backend) throws {
        let file = try StoreFixture(backend)
        let database = try Self.database(file)
        _ = try Self.writePage(database, [(1, "new"), (2, "new")], write: .upsert)
        let captured = try outbox(file)
        // 1 changed, 2 the same, 3 and 4 unknown.
        let counts = try Self.writePage(database, [(3, "new"), (1, "paid"), (2, "new"), (4, "x")], write: .update)
        #expect(counts.byWorksheet["orders"] == UpsertCounts(inserted: 0, updated: 1, unchanged: 1, skipped: 2))
        #expect(counts.skipped == 2)
        #expect(try strings(file, "SELECT id || ':' || status FROM orders ORDER BY id") == ["1:paid", "2:new"])
        // Only the row that really changed is captured.
        #expect(try outbox(file) == captured + ["orders update [1]"])
        // A batch whose first row is unknown too (SQLite chooses the order of work by the first row).
        if let sqlite = database as? WorksheetDatabase {
            #expect(try sqlite.upsert(Self.orderRows([(9, "a"), (2, "b")]), into: Self.orders, source: "j", mode: .update)
                    == UpsertCounts(updated: 1, skipped: 1))
        }
        let unknownFirst = try Self.writePage(database, [(8, "a"), (1, "b")], write: .update)
        #expect(unknownFirst.byWorksheet["orders"] == UpsertCounts(updated: 1, skipped: 1))
    }

    @Test(arguments: Backend.allCases)
    func skippedIsRecordedWithTheRunWhichStillSucceeds(backend: Backend) throws {
        let file = try StoreFixture(backend)
        let database = try Self.database(file)
        _ = try Self.writePage(database, [(1, "new")], write: .upsert)
        let run = try database.beginRun(job: "j", trigger: .cli)
        let counts = try database.writeTestPage(rows: [Self.orderRows([(1, "paid"), (5, "new")])], into: Self.orders, run: run, write: .update)
        try database.finishRun(run, status: .succeeded, counts: counts, requests: 1)
        let record = try #require(try database.runs(job: "j", limit: 10).first)
        #expect(record.status == "succeeded")
        #expect((record.updated, record.skipped, record.rejected) == (1, 1, 0))
        let detail = backend == .sqlite ? "json_extract(details, '$.orders.skipped')" : "(details::jsonb -> 'orders' ->> 'skipped')"
        #expect(try strings(file, "SELECT skipped || ' ' || \(detail) FROM _sheetsync_runs WHERE id = \(run)") == ["1 1"])
    }

    @Test(arguments: Backend.allCases)
    func upsertChildrenReplaceAParentsChildren(backend: Backend) throws {
        let file = try StoreFixture(backend)
        let database = try Self.database(file)
        _ = try Self.writePage(database, [(1, "new")], items: Self.itemRows(parents: [1], [(1, "A", 1), (1, "B", 1)], write: .upsert), write: .upsert)
        let counts = try Self.writePage(database, [(1, "new")], items: Self.itemRows(parents: [1], [(1, "A", 2)], write: .upsert), write: .upsert)
        #expect(counts.byWorksheet["items"] == UpsertCounts(updated: 1))
        #expect(counts.deleted["items"] == 1)
        #expect(try strings(file, "SELECT order_id || sku || qty FROM items ORDER BY 1") == ["1A2"])
    }

    @Test(arguments: Backend.allCases)
    func insertChildrenAreOnlyAdded(backend: Backend) throws {
        let file = try StoreFixture(backend)
        let database = try Self.database(file)
        _ = try Self.writePage(database, [(1, "new")], items: Self.itemRows(parents: [1], [(1, "A", 1), (1, "B", 1)], write: .upsert), write: .upsert)
        let captured = try outbox(file)
        // Order 1 exists: A differs (untouched), B is not listed (kept), C is new. Order 2 is new.
        let counts = try Self.writePage(database, [(1, "paid"), (2, "new")],
                                        items: Self.itemRows(parents: [1, 2], [(1, "A", 5), (1, "C", 1), (2, "X", 1)], write: .insert), write: .insert)
        #expect(counts.byWorksheet["orders"] == UpsertCounts(inserted: 1, unchanged: 1))
        #expect(counts.byWorksheet["items"] == UpsertCounts(inserted: 2, unchanged: 1))
        #expect(counts.deletedTotal == 0)
        #expect(try strings(file, "SELECT order_id || sku || qty FROM items ORDER BY 1") == ["1A1", "1B1", "1C1", "2X1"])
        #expect(try outbox(file) == captured + ["orders insert [2]", "items insert [\"1\",\"C\"]", "items insert [\"2\",\"X\"]"])
    }

    @Test(arguments: Backend.allCases)
    func updateChildrenAreUpdatedAndThoseOfSkippedParentsSkipped(backend: Backend) throws {
        let file = try StoreFixture(backend)
        let database = try Self.database(file)
        _ = try Self.writePage(database, [(1, "new")], items: Self.itemRows(parents: [1], [(1, "A", 1), (1, "B", 1)], write: .upsert), write: .upsert)
        let captured = try outbox(file)
        // Order 1 exists: A changes, D is unknown (skipped), B is not listed (kept).
        // Order 9 is unknown: it and its children are skipped.
        let counts = try Self.writePage(database, [(1, "new"), (9, "new")],
                                        items: Self.itemRows(parents: [1, 9], [(1, "A", 7), (1, "D", 1), (9, "Z", 1), (9, "Y", 1)], write: .update),
                                        write: .update)
        #expect(counts.byWorksheet["orders"] == UpsertCounts(unchanged: 1, skipped: 1))
        #expect(counts.byWorksheet["items"] == UpsertCounts(updated: 1, skipped: 3))
        #expect(counts.deletedTotal == 0)
        #expect(try strings(file, "SELECT order_id || sku || qty FROM items ORDER BY 1") == ["1A7", "1B1"])
        #expect(try outbox(file) == captured + ["items update [\"1\",\"A\"]"])
    }

    /// The children of a skipped parent are skipped whatever their own mode: an `upsert`
    /// child level under an `update` job neither inserts them nor deletes anything of
    /// theirs, and the level below follows.
    @Test(arguments: Backend.allCases)
    func childrenOfASkippedParentAreSkippedAtEveryLevel(backend: Backend) throws {
        let file = try StoreFixture(backend)
        let database = try Self.database(file)
        // A child row under order 9 that exists already (written by hand, say): not deleted.
        switch backend {
        case .sqlite: try file.execute("INSERT INTO items (order_id, sku, qty, _created_at, _updated_at, _synced_at, _source) VALUES ('9', 'OLD', 1, 'x', 'x', 'x', 'sql')")
        case .postgres: try file.execute("INSERT INTO items (order_id, sku, qty, _source) VALUES ('9', 'OLD', 1, 'sql')")
        }
        _ = try Self.writePage(database, [(1, "new")], items: Self.itemRows(parents: [1], [(1, "A", 1), (1, "B", 1)], write: .upsert), write: .upsert)
        let items = Self.itemRows(parents: [1, 9], [(1, "A", 1), (1, "C", 1), (9, "Z", 1)], write: .upsert)
        let lots = ChildRows(worksheet: "lots", linkColumns: ["order_id", "sku"],
                             parentKeys: [[.text("1"), .text("A")], [.text("1"), .text("C")], [.text("9"), .text("Z")]],
                             rows: RowBatch(columns: ["order_id", "sku", "lot"], rows: [
                                 [.text("1"), .text("C"), .text("L1")], [.text("9"), .text("Z"), .text("L2")],
                             ]), parent: 0, write: .upsert)
        let counts = try database.writeTestPage(rows: [Self.orderRows([(1, "new"), (9, "new")])], into: Self.orders,
                                                children: [(items, Self.items), (lots, Self.lots)], write: .update)
        #expect(counts.byWorksheet["orders"] == UpsertCounts(unchanged: 1, skipped: 1))
        #expect(counts.byWorksheet["items"] == UpsertCounts(inserted: 1, unchanged: 1, skipped: 1))
        #expect(counts.byWorksheet["lots"] == UpsertCounts(inserted: 1, skipped: 1))
        // Order 1's children are replaced (B goes); order 9's are not touched.
        #expect(counts.deleted["items"] == 1)
        #expect(try strings(file, "SELECT order_id || sku || qty FROM items ORDER BY 1") == ["1A1", "1C1", "9OLD1"])
        #expect(try strings(file, "SELECT order_id || sku || lot FROM lots ORDER BY 1") == ["1CL1"])
    }

    /// Rows and children come in separate calls when a page has per-record step batches:
    /// the skipped parents of every batch still reach the children (an `upsert` level,
    /// which would insert them otherwise).
    @Test(arguments: Backend.allCases)
    func skippedParentsReachChildrenWrittenAfterSeveralBatches(backend: Backend) throws {
        let file = try StoreFixture(backend)
        let database = try Self.database(file)
        _ = try Self.writePage(database, [(1, "new")], write: .upsert)
        let counts = try database.writeTestPage(rows: [Self.orderRows([(7, "new")]), Self.orderRows([(1, "paid")])], into: Self.orders,
                                                children: [(Self.itemRows(parents: [7, 1], [(7, "Q", 1), (1, "A", 1)], write: .upsert), Self.items)],
                                                write: .update)
        #expect(counts.byWorksheet["orders"] == UpsertCounts(updated: 1, skipped: 1))
        #expect(counts.byWorksheet["items"] == UpsertCounts(inserted: 1, skipped: 1))
        #expect(try strings(file, "SELECT order_id || sku || qty FROM items") == ["1A1"])
    }
}
