import Foundation
import Testing
@testable import SheetSyncCore
@testable import SheetSyncStore
import SheetSyncTesting

/// `migrate` on both stores: what each change does to the rows there, what needs
/// `--allow-destructive`, and what is refused.
struct SchemaMigrationTests {
    static let v1 = WorksheetDefinition(name: "orders", key: ["id"], fields: [
        .init(name: "id", type: .text), .init(name: "status", type: .text), .init(name: "total", type: .text),
    ])

    func seeded(_ backend: Backend) throws -> (StoreFixture, any WorksheetStore) {
        let file = try StoreFixture(backend)
        let database = file.store
        try database.migrate([Self.v1])
        _ = try database.writeTestPage(rows: [RowBatch(columns: ["id", "status", "total"], rows: [
            [.text("a"), .text("paid"), .text("12.50")], [.text("b"), .text("new"), .text("n/a")],
        ])], into: Self.v1)
        return (file, database)
    }

    @Test(arguments: Backend.allCases)
    func addingAFieldKeepsExistingRows(backend: Backend) throws {
        let (file, database) = try seeded(backend)
        let everything = "SELECT id || '|' || status || '|' || total || '|' || CAST(_created_at AS TEXT) || '|' || CAST(_updated_at AS TEXT) FROM orders ORDER BY id"
        let before = try file.strings(everything)
        var v2 = Self.v1
        v2.fields.append(.init(name: "note", type: .text))
        v2.fields.append(.init(name: "flag", type: .boolean))
        let plan = try database.plan(for: [v2])
        #expect(plan.changes.map(\.description) == ["add field 'note' (text) to 'orders'", "add field 'flag' (boolean) to 'orders'"])
        let added = backend == .sqlite ? #"ALTER TABLE "orders" ADD COLUMN "flag" INTEGER CHECK ("flag" IN (0, 1));"# : #"ALTER TABLE "orders" ADD COLUMN "flag" boolean"#
        #expect(plan.sql.contains(added), "\(plan.sql)")
        try database.migrate([v2])
        #expect(try file.strings(everything) == before)
        #expect(try file.strings("SELECT count(*) FROM orders WHERE note IS NULL AND flag IS NULL") == ["2"])
        #expect(try database.plan(for: [v2]).isEmpty)
        #expect(try file.strings("SELECT count(*) FROM _sheetsync_schema_changes WHERE worksheet = 'orders'") == ["3"])
    }

    @Test(arguments: Backend.allCases)
    func removingAFieldIsRefusedWithoutTheFlag(backend: Backend) throws {
        let (file, database) = try seeded(backend)
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
        #expect(try file.strings("SELECT status FROM orders ORDER BY id") == ["paid", "new"])
    }

    @Test(arguments: Backend.allCases)
    func allowedRemovalKeepsTheOtherColumns(backend: Backend) throws {
        let (file, database) = try seeded(backend)
        var v2 = Self.v1
        v2.fields.removeAll { $0.name == "status" }
        try database.migrate([v2], allowDestructive: true, captured: [], pushJobs: [:])
        #expect(try !file.columns(of: "orders").contains("status"))
        #expect(try file.columns(of: "orders").contains("total"))
        #expect(try file.strings("SELECT id || ' ' || total FROM orders ORDER BY id") == ["a 12.50", "b n/a"])
    }

    /// SQLite makes a value that does not convert NULL; on PostgreSQL such a value stops the
    /// migration whole (its casts), and the plan says which happens.
    @Test(arguments: Backend.allCases)
    func retypingIsRefusedThenConvertsWhenAllowed(backend: Backend) throws {
        let (file, database) = try seeded(backend)
        var v2 = Self.v1
        v2.fields[2].type = .decimal
        #expect(throws: StoreError.self) { try database.migrate([v2]) }
        let plan = try database.plan(for: [v2])
        switch backend {
        case .sqlite:
            #expect(plan.destructiveChanges.map(\.description) == ["change field 'total' of 'orders' from text to decimal (values that cannot be converted become NULL)"])
        case .postgres:
            #expect(plan.destructiveChanges.map(\.description) == ["change field 'total' of 'orders' from text to decimal (a value that cannot be converted stops the migration, which then changes nothing)"])
            #expect(throws: StoreError.self) { try database.migrate([v2], allowDestructive: true, captured: [], pushJobs: [:]) }
            #expect(try file.strings("SELECT id || ' ' || total FROM orders ORDER BY id") == ["a 12.50", "b n/a"])
            #expect(try file.strings("SELECT type FROM _sheetsync_fields WHERE worksheet = 'orders' AND name = 'total'") == ["text"])
            try file.execute("UPDATE orders SET total = NULL WHERE id = 'b'")
        }
        try database.migrate([v2], allowDestructive: true, captured: [], pushJobs: [:])
        #expect(try file.strings("SELECT status FROM orders ORDER BY id") == ["paid", "new"])
        #expect(try file.strings("SELECT coalesce(CAST(total AS TEXT), 'NULL') FROM orders ORDER BY id") == ["12.50", "NULL"])
        #expect(try file.strings("SELECT type FROM _sheetsync_fields WHERE worksheet = 'orders' AND name = 'total'") == ["decimal"])
        if let sqlite = database as? WorksheetDatabase {
            #expect(try sqlite.recordedWorksheets().first?.field(named: "total")?.type == .decimal)
        }
    }

    @Test(arguments: Backend.allCases)
    func changingTheKeyRebuildsOrRefusesDuplicates(backend: Backend) throws {
        let (file, database) = try seeded(backend)
        var byStatus = Self.v1
        byStatus.key = ["status"]
        #expect(throws: StoreError.self) { try database.migrate([byStatus]) }
        try database.migrate([byStatus], allowDestructive: true, captured: [], pushJobs: [:])
        #expect(try file.strings("SELECT count(*) FROM orders") == ["2"])
        #expect(try file.primaryKey(of: "orders") == ["status"])

        _ = try database.writeTestPage(rows: [RowBatch(columns: ["id", "status", "total"], rows: [[.text("c"), .text("dup"), .null], [.text("d"), .text("dup2"), .null]])],
                                       into: byStatus)
        var byTotal = byStatus
        byTotal.key = ["total"]
        do {
            try database.migrate([byTotal], allowDestructive: true, captured: [], pushJobs: [:])
            Issue.record("rows without a key value were accepted")
        } catch {
            if backend == .sqlite {
                #expect(error.code == .migrationFailed)
                #expect(error.message.contains("Unable to change the key of 'orders' to [total]"))
            } else {
                #expect(error.message.contains("total"), "\(error.message)")
            }
        }
        // The failed migration changed nothing.
        #expect(try file.strings("SELECT count(*) FROM orders") == ["4"])
        #expect(try file.primaryKey(of: "orders") == ["status"])
    }

    @Test(arguments: Backend.allCases)
    func aColumnAddedByHandIsAdopted(backend: Backend) throws {
        let (file, database) = try seeded(backend)
        try file.execute("ALTER TABLE orders ADD COLUMN note TEXT")
        var v2 = Self.v1
        v2.fields.append(.init(name: "note", type: .text))
        #expect(try database.plan(for: [v2]).changes.map(\.description) == ["adopt existing column 'note' (text) of 'orders'"])
        try database.migrate([v2])
        #expect(try database.plan(for: [v2]).isEmpty)
    }

    @Test(arguments: Backend.allCases)
    func aForeignTableOfTheSameNameIsNotTaken(backend: Backend) throws {
        let file = try StoreFixture(backend)
        try file.execute("CREATE TABLE orders (x TEXT)")
        do {
            try file.store.migrate([Self.v1])
            Issue.record("a table sheetsync did not make was taken")
        } catch {
            #expect(error.message.contains("a table of that name already exists and was not made by sheetsync"), "\(error.message)")
        }
        #expect(try file.columns(of: "orders") == ["x"])
    }

    @Test(arguments: Backend.allCases)
    func aRemovedSchemaFileLeavesTheTable(backend: Backend) throws {
        let (file, database) = try seeded(backend)
        let plan = try database.migrate([])
        #expect(plan.orphanedWorksheets == ["orders"])
        #expect(plan.changes.isEmpty)
        #expect(try file.strings("SELECT count(*) FROM orders") == ["2"])
    }
}
