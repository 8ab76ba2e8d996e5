import Foundation
import GRDB
import Testing
@testable import SheetSyncCore
@testable import SheetSyncStore

struct QueryTests {
    func seeded() throws -> TemporaryDatabase {
        let file = TemporaryDatabase()
        let database = try WorksheetDatabase(path: file.path)
        let sheet = WorksheetDefinition(name: "orders", key: ["id"], fields: [.init(name: "id", type: .text), .init(name: "n", type: .integer)])
        try database.migrate([sheet])
        _ = try database.upsert(RowBatch(columns: ["id", "n"], rows: [[.text("a"), .integer(1)], [.text("b"), .null]]), into: sheet, source: "t")
        return file
    }

    @Test func readsRows() throws {
        let file = try seeded()
        let result = try WorksheetDatabase.query(path: file.path, sql: "SELECT id, n FROM orders ORDER BY id", allowWrite: false)
        #expect(result.columns == ["id", "n"])
        #expect(result.rows == [[.text("a"), .integer(1)], [.text("b"), .null]])
    }

    @Test(arguments: [
        "DELETE FROM orders",
        "UPDATE orders SET n = 2",
        "INSERT INTO orders (id) VALUES ('z')",
        "DROP TABLE orders",
        "SELECT 1; DELETE FROM orders",
        "CREATE TABLE t (x)",
    ])
    func refusesWritesByDefault(sql: String) throws {
        let file = try seeded()
        do {
            _ = try WorksheetDatabase.query(path: file.path, sql: sql, allowWrite: false)
            Issue.record("write was not refused: \(sql)")
        } catch {
            #expect(error.code == .writeRefused)
            #expect(error.message.contains("Add --write to allow it."))
        }
        #expect(try file.rawConnection().read { try Int.fetchOne($0, sql: "SELECT count(*) FROM orders") } == 2)
    }

    @Test func writesWithTheFlag() throws {
        let file = try seeded()
        let result = try WorksheetDatabase.query(path: file.path, sql: "CREATE TABLE notes (x); INSERT INTO notes VALUES (1), (2)", allowWrite: true)
        #expect(result.changes == 2)
        #expect(try file.rawConnection().read { try Int.fetchOne($0, sql: "SELECT count(*) FROM notes") } == 2)
    }

    @Test func reportsSQLErrorsPlainly() throws {
        let file = try seeded()
        do {
            _ = try WorksheetDatabase.query(path: file.path, sql: "SELECT nope FROM orders", allowWrite: false)
            Issue.record("bad SQL accepted")
        } catch {
            #expect(error.message == "SQL error: no such column: nope")
        }
    }
}
