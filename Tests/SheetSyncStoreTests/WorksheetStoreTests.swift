import Foundation
import GRDB
import Testing
@testable import SheetSyncCore
@testable import SheetSyncStore
import SheetSyncTesting

struct WorksheetStoreTests {
    static let everyType = WorksheetDefinition(name: "samples", key: ["id"], fields: [
        .init(name: "id", type: .text), .init(name: "label", type: .text), .init(name: "count", type: .integer),
        .init(name: "ratio", type: .number), .init(name: "amount", type: .decimal), .init(name: "active", type: .boolean),
        .init(name: "day", type: .date), .init(name: "at", type: .datetime), .init(name: "doc", type: .json),
    ])

    @Test func opensInWALWithBusyTimeoutAndForeignKeys() throws {
        let file = TemporaryDatabase()
        let database = try WorksheetDatabase(path: file.path)
        let pragmas = try database.read { db in
            (try String.fetchOne(db, sql: "PRAGMA journal_mode"), try Int.fetchOne(db, sql: "PRAGMA busy_timeout"),
             try Int.fetchOne(db, sql: "PRAGMA foreign_keys"))
        }
        #expect(pragmas.0 == "wal")
        #expect(pragmas.1 == 10_000)
        #expect(pragmas.2 == 1)
        let migrations = ["v1-bookkeeping", "v2-backfills", "v3-step-failures", "v4-push", "v5-payload-seals", "v6-batches-and-origin", "v7-run-owners", "v8-in-flight", "v9-skipped-count", "v10-test-values", "v11-record-digests", "v12-raw-record-digests", "v13-notifications", "v14-page-digests", "v15-backfill-params"]
        #expect(try database.appliedMigrations() == migrations)
        // Opening again applies nothing twice.
        #expect(try WorksheetDatabase(path: file.path).appliedMigrations() == migrations)
        let tables = try file.rawConnection().read { db in
            try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE '\\_sheetsync\\_%' ESCAPE '\\' ORDER BY name")
        }
        #expect(tables == ["_sheetsync_backfill_windows", "_sheetsync_backfills", "_sheetsync_deliveries", "_sheetsync_digests", "_sheetsync_fields",
                           "_sheetsync_migrations", "_sheetsync_notifications", "_sheetsync_outbox", "_sheetsync_page_digests", "_sheetsync_pushed", "_sheetsync_rejects", "_sheetsync_requests",
                           "_sheetsync_runs", "_sheetsync_schema_changes", "_sheetsync_state", "_sheetsync_step_failures",
                           "_sheetsync_test_values", "_sheetsync_worksheets", "_sheetsync_writing"])
    }

    @Test func everyFieldTypeRoundTrips() throws {
        let file = TemporaryDatabase()
        let database = try WorksheetDatabase(path: file.path)
        try database.migrate([Self.everyType])
        let source: [JSONValue] = [
            .string("s-1"), .string("Grüße, \"quoted\"\nnew line"), .string("42"), .number("0.1"),
            .number("123456789012345678901234567890.123456789012"), .string("yes"), .string("2024-02-29"),
            .string("2024-03-10T09:34:56.789+05:30"), .object(JSONObject(["k": .array([.number("1e2"), .null])])),
        ]
        let row = try zip(Self.everyType.fields, source).map { field, value in try field.type.convert(value) }
        let counts = try database.upsert(RowBatch(columns: Self.everyType.fields.map(\.name), rows: [row]), into: Self.everyType, source: "test")
        #expect(counts == UpsertCounts(inserted: 1))

        let stored = try file.rawConnection().read { db in
            try Row.fetchOne(db, sql: """
                SELECT id, label, count, typeof(count), ratio, typeof(ratio), amount, typeof(amount), active, typeof(active),
                       day, at, doc, json_extract(doc, '$.k[0]'), _source, _synced_at IS NOT NULL, _created_at = _updated_at
                FROM samples
                """)!
        }
        #expect(stored[0] as String == "s-1")
        #expect(stored[1] as String == "Grüße, \"quoted\"\nnew line")
        #expect(stored[2] as Int64 == 42)
        #expect(stored[3] as String == "integer")
        #expect(stored[4] as Double == 0.1)
        #expect(stored[5] as String == "real")
        #expect(stored[6] as String == "123456789012345678901234567890.123456789012")
        #expect(stored[7] as String == "text")
        #expect(stored[8] as Int64 == 1)
        #expect(stored[9] as String == "integer")
        #expect(stored[10] as String == "2024-02-29")
        #expect(stored[11] as String == "2024-03-10T04:04:56.789Z")
        #expect(stored[12] as String == #"{"k":[1e2,null]}"#)
        #expect(stored[13] as Double == 100)
        #expect(stored[14] as String == "test")
        #expect(stored[15] as Bool == true)
        #expect(stored[16] as Bool == true)
    }

    @Test func checkConstraintsGuardWritesFromOtherClients() throws {
        let file = TemporaryDatabase()
        try WorksheetDatabase(path: file.path).migrate([Self.everyType])
        let raw = try file.rawConnection()
        #expect(throws: DatabaseError.self) { try raw.write { try $0.execute(sql: "INSERT INTO samples (id, active) VALUES ('x', 2)") } }
        #expect(throws: DatabaseError.self) { try raw.write { try $0.execute(sql: "INSERT INTO samples (id, doc) VALUES ('x', '{broken')") } }
        #expect(throws: DatabaseError.self) { try raw.write { try $0.execute(sql: "INSERT INTO samples (label) VALUES ('no key')") } }
        try raw.write { try $0.execute(sql: "INSERT INTO samples (id, active, doc) VALUES ('ok', 1, '[1]')") }
        let created = try raw.read { try String.fetchOne($0, sql: "SELECT _created_at FROM samples WHERE id = 'ok'") }
        #expect(created?.hasSuffix("Z") == true)
    }

    /// On both stores: an unchanged row is not written (its `_updated_at` and `_synced_at`
    /// stay), a changed one is.
    @Test(arguments: Backend.allCases)
    func unchangedRowsAreNotWritten(backend: Backend) throws {
        let file = try StoreFixture(backend)
        let database = file.store
        let sheet = WorksheetDefinition(name: "orders", key: ["id"], fields: [.init(name: "id", type: .text), .init(name: "status", type: .text)])
        try database.migrate([sheet])
        let first = RowBatch(columns: ["id", "status"], rows: [[.text("a"), .text("new")], [.text("b"), .text("new")]])
        #expect(try database.writeTestPage(rows: [first], into: sheet).byWorksheet["orders"] == UpsertCounts(inserted: 2))
        let stamps = "SELECT id || ' ' || CAST(_updated_at AS TEXT) || ' ' || CAST(_synced_at AS TEXT) FROM orders ORDER BY id"
        let before = try file.strings(stamps)
        Thread.sleep(forTimeInterval: 0.01)

        let second = RowBatch(columns: ["id", "status"], rows: [[.text("a"), .text("new")], [.text("b"), .text("paid")], [.text("c"), .text("new")]])
        #expect(try database.writeTestPage(rows: [second], into: sheet).byWorksheet["orders"] == UpsertCounts(inserted: 1, updated: 1, unchanged: 1))
        let after = try file.strings(stamps)
        #expect(after[0] == before[0], "unchanged row 'a' was rewritten")
        #expect(after[1] != before[1])

        // Measured with SQLite's own changes(): the same statement on an unchanged row changes nothing.
        guard let sqlite = database as? WorksheetDatabase else { return }
        let changes = try sqlite.write { db -> Int in
            let sql = WorksheetDatabase.upsertSQL(columns: ["id", "status"], worksheet: sheet)
            try db.execute(sql: sql.insert, arguments: ["a", "new", "2030-01-01T00:00:00.000Z", "job"])
            var changes = db.changesCount
            try db.execute(sql: sql.update!, arguments: ["a", "new", "2030-01-01T00:00:00.000Z", "job"])
            changes += db.changesCount
            return changes
        }
        #expect(changes == 0)
    }

    @Test(arguments: Backend.allCases)
    func duplicateKeysInOneBatchCountOnce(backend: Backend) throws {
        let file = try StoreFixture(backend)
        let database = file.store
        let sheet = WorksheetDefinition(name: "items", key: ["order_id", "sku"], fields: [
            .init(name: "order_id", type: .text), .init(name: "sku", type: .text), .init(name: "qty", type: .integer)])
        try database.migrate([sheet])
        let batch = RowBatch(columns: ["order_id", "sku", "qty"], rows: [
            [.text("o1"), .text("A"), .integer(1)], [.text("o1"), .text("B"), .integer(1)], [.text("o1"), .text("A"), .integer(2)]])
        #expect(try database.writeTestPage(rows: [batch], into: sheet).byWorksheet["items"] == UpsertCounts(inserted: 2, updated: 1))
        #expect(try file.strings("SELECT order_id || sku || qty FROM items ORDER BY sku") == ["o1A2", "o1B1"])
    }

    /// A batch of new rows goes in many at a time (one multi-row insert each); where some keys
    /// exist already or come twice, each mode counts and leaves the rows exactly as writing
    /// the same rows one by one does. On both stores.
    @Test(arguments: Backend.allCases, [WriteMode.upsert, .insert])
    func multiRowInsertsCountAndWriteAsRowByRow(backend: Backend, mode: WriteMode) throws {
        let sheet = WorksheetDefinition(name: "orders", key: ["id"], fields: [.init(name: "id", type: .text), .init(name: "status", type: .text)])
        // Existing: e10 (same values as the batch), e20 and e70 (other values).
        let existing = RowBatch(columns: ["id", "status"], rows: [[.text("e10"), .text("s10")], [.text("e20"), .text("old")], [.text("e70"), .text("old")]])
        // 130 rows, the first new: rows 10, 20 and 70 have the existing keys; row 40 repeats
        // row 30's key with other values, row 45 row 31's with the same; the last 30 rows go one by one.
        var rows: [[SQLValue]] = (0..<130).map { [.text("n\($0)"), .text("s\($0)")] }
        rows[10] = [.text("e10"), .text("s10")]
        rows[20] = [.text("e20"), .text("s20")]
        rows[70] = [.text("e70"), .text("s70")]
        rows[40] = [.text("n30"), .text("changed")]
        rows[45] = [.text("n31"), .text("s31")]
        let batch = RowBatch(columns: ["id", "status"], rows: rows)
        func write(_ batches: [RowBatch]) throws -> (UpsertCounts, [String]) {
            let file = try StoreFixture(backend)
            let database = file.store
            try database.migrate([sheet])
            _ = try database.writeTestPage(rows: [existing], into: sheet)
            var counts = UpsertCounts()
            for batch in batches { counts += try database.writeTestPage(rows: [batch], into: sheet, write: mode).byWorksheet["orders"] ?? UpsertCounts() }
            return (counts, try file.strings("SELECT id || '=' || status FROM orders ORDER BY id"))
        }
        let (together, storedTogether) = try write([batch])
        let (oneByOne, storedOneByOne) = try write(rows.map { RowBatch(columns: ["id", "status"], rows: [$0]) })
        #expect(together == oneByOne)
        #expect(storedTogether == storedOneByOne)
        #expect(together.inserted == 125)
        #expect(together == (mode == .upsert ? UpsertCounts(inserted: 125, updated: 3, unchanged: 2) : UpsertCounts(inserted: 125, unchanged: 5)))
        // SQLite's one-batch upsert (without a page around it) counts alike.
        if backend == .sqlite {
            let file = TemporaryDatabase()
            let database = try WorksheetDatabase(path: file.path)
            try database.migrate([sheet])
            _ = try database.upsert(existing, into: sheet, source: "j")
            #expect(try database.upsert(batch, into: sheet, source: "j", mode: mode) == together)
        }
    }

    @Test func openInTheSqlite3ShellWhileHeld() throws {
        let file = TemporaryDatabase()
        let database = try WorksheetDatabase(path: file.path)
        let sheet = WorksheetDefinition(name: "orders", key: ["id"], fields: [.init(name: "id", type: .text)])
        try database.migrate([sheet])
        _ = try database.upsert(RowBatch(columns: ["id"], rows: [[.text("a")], [.text("b")]]), into: sheet, source: "j")
        // `database` keeps its connections open while the shell reads and writes.
        let read = try sqlite3Shell(file.path, "SELECT count(*) FROM orders;")
        #expect(read.status == 0)
        #expect(read.output == "2")
        let write = try sqlite3Shell(file.path, "INSERT INTO orders (id) VALUES ('c'); SELECT count(*) FROM orders;")
        #expect(write.output == "3")
        #expect(try database.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM orders") } == 3)
    }
}
