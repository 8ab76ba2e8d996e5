import Foundation
import GRDB
import Testing
@testable import SheetSyncCore
@testable import SheetSyncStore

struct SchemaMigrationTests {
    static let v1 = WorksheetDefinition(name: "orders", key: ["id"], fields: [
        .init(name: "id", type: .text), .init(name: "status", type: .text), .init(name: "total", type: .text),
    ])

    func seeded() throws -> (TemporaryDatabase, WorksheetDatabase) {
        let file = TemporaryDatabase()
        let database = try WorksheetDatabase(path: file.path)
        try database.migrate([Self.v1])
        _ = try database.upsert(RowBatch(columns: ["id", "status", "total"], rows: [
            [.text("a"), .text("paid"), .text("12.50")], [.text("b"), .text("new"), .text("n/a")],
        ]), into: Self.v1, source: "seed")
        return (file, database)
    }

    func rows(_ file: TemporaryDatabase, _ sql: String) throws -> [Row] {
        try file.rawConnection().read { try Row.fetchAll($0, sql: sql) }
    }

    @Test func addingAFieldKeepsExistingRows() throws {
        let (file, database) = try seeded()
        let before = try rows(file, "SELECT id, status, total, _created_at, _updated_at FROM orders ORDER BY id")
        var v2 = Self.v1
        v2.fields.append(.init(name: "note", type: .text))
        v2.fields.append(.init(name: "flag", type: .boolean))
        let plan = try database.plan(for: [v2])
        #expect(plan.changes.map(\.description) == ["add field 'note' (text) to 'orders'", "add field 'flag' (boolean) to 'orders'"])
        #expect(plan.sql.contains(#"ALTER TABLE "orders" ADD COLUMN "flag" INTEGER CHECK ("flag" IN (0, 1));"#))
        try database.migrate([v2])
        let after = try rows(file, "SELECT id, status, total, _created_at, _updated_at FROM orders ORDER BY id")
        #expect(after == before)
        #expect(try rows(file, "SELECT count(*) FROM orders WHERE note IS NULL AND flag IS NULL")[0][0] as Int == 2)
        #expect(try database.plan(for: [v2]).isEmpty)
        #expect(try rows(file, "SELECT count(*) FROM _sheetsync_schema_changes WHERE worksheet = 'orders'")[0][0] as Int == 3)
    }

    @Test func removingAFieldIsRefusedWithoutTheFlag() throws {
        let (file, database) = try seeded()
        var v2 = Self.v1
        v2.fields.removeAll { $0.name == "status" }
        do {
            try database.migrate([v2])
            Issue.record("a destructive change was applied without --allow-destructive")
        } catch {
            #expect(error.code == .destructiveChange)
            #expect(error.message.contains("remove field 'status' from 'orders'"))
            #expect(error.message.contains("--allow-destructive"))
        }
        #expect(try rows(file, "SELECT status FROM orders ORDER BY id").map { $0[0] as String } == ["paid", "new"])
    }

    @Test func allowedRemovalKeepsTheOtherColumns() throws {
        let (file, database) = try seeded()
        var v2 = Self.v1
        v2.fields.removeAll { $0.name == "status" }
        try database.migrate([v2], allowDestructive: true)
        let columns = try file.rawConnection().read { try $0.columns(in: "orders").map(\.name) }
        #expect(!columns.contains("status"))
        #expect(try rows(file, "SELECT id, total FROM orders ORDER BY id").map { [$0[0] as String, $0[1] as String] } == [["a", "12.50"], ["b", "n/a"]])
    }

    @Test func retypingIsRefusedThenConvertsWhenAllowed() throws {
        let (file, database) = try seeded()
        var v2 = Self.v1
        v2.fields[2].type = .decimal
        #expect(throws: StoreError.self) { try database.migrate([v2]) }
        let plan = try database.plan(for: [v2])
        #expect(plan.destructiveChanges.map(\.description) == ["change field 'total' of 'orders' from text to decimal (values that cannot be converted become NULL)"])
        try database.migrate([v2], allowDestructive: true)
        let after = try rows(file, "SELECT id, status, total FROM orders ORDER BY id")
        #expect(after.map { $0[1] as String } == ["paid", "new"])
        #expect(after[0][2] as String? == "12.50")
        #expect(after[1][2] as String? == nil)
        #expect(try database.recordedWorksheets().first?.field(named: "total")?.type == .decimal)
    }

    @Test func changingTheKeyRebuildsOrRefusesDuplicates() throws {
        let (file, database) = try seeded()
        var byStatus = Self.v1
        byStatus.key = ["status"]
        #expect(throws: StoreError.self) { try database.migrate([byStatus]) }
        try database.migrate([byStatus], allowDestructive: true)
        #expect(try rows(file, "SELECT count(*) FROM orders")[0][0] as Int == 2)
        let pk = try file.rawConnection().read { try $0.primaryKey("orders").columns }
        #expect(pk == ["status"])

        _ = try database.upsert(RowBatch(columns: ["id", "status", "total"], rows: [[.text("c"), .text("dup"), .null], [.text("d"), .text("dup2"), .null]]), into: byStatus, source: "x")
        var byTotal = byStatus
        byTotal.key = ["total"]
        do {
            try database.migrate([byTotal], allowDestructive: true)
            Issue.record("rows without a key value were accepted")
        } catch {
            #expect(error.code == .migrationFailed)
            #expect(error.message.contains("Unable to change the key of 'orders' to [total]"))
        }
        // The failed migration changed nothing.
        #expect(try rows(file, "SELECT count(*) FROM orders")[0][0] as Int == 4)
        #expect(try file.rawConnection().read { try $0.primaryKey("orders").columns } == ["status"])
    }

    @Test func aColumnAddedByHandIsAdopted() throws {
        let (file, database) = try seeded()
        try file.rawConnection().write { try $0.execute(sql: "ALTER TABLE orders ADD COLUMN note TEXT") }
        var v2 = Self.v1
        v2.fields.append(.init(name: "note", type: .text))
        #expect(try database.plan(for: [v2]).changes.map(\.description) == ["adopt existing column 'note' (text) of 'orders'"])
        try database.migrate([v2])
        #expect(try database.plan(for: [v2]).isEmpty)
    }

    @Test func aForeignTableOfTheSameNameIsNotTaken() throws {
        let file = TemporaryDatabase()
        let database = try WorksheetDatabase(path: file.path)
        try file.rawConnection().write { try $0.execute(sql: "CREATE TABLE orders (x)") }
        #expect(throws: StoreError.self) { try database.migrate([Self.v1]) }
    }

    @Test func aRemovedSchemaFileLeavesTheTable() throws {
        let (_, database) = try seeded()
        let plan = try database.migrate([])
        #expect(plan.orphanedWorksheets == ["orders"])
        #expect(plan.changes.isEmpty)
    }
}
