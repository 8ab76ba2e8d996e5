import Foundation
import GRDB
import SheetSyncCore

extension WorksheetDatabase {
    /// What `migrate` would change to bring the tables in line with `worksheets`.
    public func plan(for worksheets: [WorksheetDefinition]) throws(StoreError) -> SchemaPlan {
        try read { db in try Self.plan(worksheets, db) }
    }

    /// What `migrate` would do to the database at `path`, without creating or
    /// changing the file (a missing file is planned as a new, empty database).
    public static func plan(for worksheets: [WorksheetDefinition], atPath path: String) throws(StoreError) -> SchemaPlan {
        if FileManager.default.fileExists(atPath: path) {
            return try WorksheetDatabase(path: path).plan(for: worksheets)
        }
        do {
            let memory = try DatabaseQueue()
            return try memory.write { db in
                try BookkeepingMigrations.run(db)
                return try plan(worksheets, db)
            }
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(.sqlError, describe(error), underlying: error)
        }
    }

    /// Brings the worksheet tables in line with `worksheets`, in one transaction.
    ///
    /// Adding fields and creating worksheets always happens. Removing or retyping a
    /// field, or changing a key, is refused with a `.destructiveChange` error naming
    /// each field unless `allowDestructive` is true; then the other columns' data is
    /// kept, and retyped values are converted (NULL where they cannot be).
    ///
    /// `captured` names the worksheets push jobs read: their change-capture triggers
    /// are regenerated (and dropped from the others) in the same transaction.
    /// `pushJobs` (job → worksheet) registers new push jobs at their worksheet's newest
    /// change, and names who still waits for changes when a key is about to change.
    ///
    /// A key change of a worksheet with undelivered changes is refused even with
    /// `allowDestructive`: their record keys would no longer find their rows, and an
    /// update would go out as a delete.
    @discardableResult
    public func migrate(_ worksheets: [WorksheetDefinition], allowDestructive: Bool = false,
                        captured: Set<String> = [], pushJobs: [String: String] = [:]) throws(StoreError) -> SchemaPlan {
        try write { db in
            let plan = try Self.plan(worksheets, db)
            try plan.refuseDestructive(unless: allowDestructive)
            try plan.refuseStrandingChanges(captured: captured.union(pushJobs.values), pushJobs: pushJobs) { try Self.undelivered(worksheet: $0, jobs: $1, db) }
            // A changed table: digests and their guards go (the next run makes them again).
            if !plan.changes.isEmpty { try Self.dropDigestGuards(db) }
            let byName = Dictionary(uniqueKeysWithValues: worksheets.map { ($0.name, $0) })
            var rebuilt = Set<String>()
            for change in plan.changes {
                guard let worksheet = byName[change.worksheet] else { continue }
                switch change.kind {
                case .retypeField, .changeKey:
                    if !rebuilt.contains(worksheet.name) {
                        try Self.rebuild(worksheet, db)
                        rebuilt.insert(worksheet.name)
                    }
                case .removeField where rebuilt.contains(worksheet.name):
                    break
                default:
                    for statement in change.statements { try db.execute(sql: statement) }
                }
                try db.execute(sql: "INSERT INTO _sheetsync_schema_changes (worksheet, change, sql) VALUES (?, ?, ?)",
                               arguments: [change.worksheet, change.description, change.statements.joined(separator: ";\n")])
            }
            for worksheet in worksheets { try Self.record(worksheet, db) }
            try Self.installCapture(worksheets, captured: captured.union(pushJobs.values), db)
            try Self.registerPushJobs(pushJobs, db)
            return plan
        }
    }

    /// The worksheet definitions as last migrated, from sheetsync's own tables.
    public func recordedWorksheets() throws(StoreError) -> [WorksheetDefinition] {
        try read { db in try Self.recorded(db).values.sorted { $0.name < $1.name } }
    }

    // MARK: - Planning

    static func plan(_ worksheets: [WorksheetDefinition], _ db: Database) throws -> SchemaPlan {
        let recorded = try recorded(db)
        var changes: [SchemaChange] = []
        for worksheet in worksheets {
            let table = WorksheetTable(worksheet: worksheet)
            guard let old = recorded[worksheet.name] else {
                if try db.tableExists(worksheet.name) {
                    throw StoreError(.migrationFailed, "Unable to create worksheet '\(worksheet.name)', a table of that name already exists and was not made by sheetsync. Rename the table, or give the worksheet another name in schema/.")
                }
                changes.append(SchemaChange(worksheet: worksheet.name, kind: .createTable, statements: [table.createSQL()]))
                continue
            }
            let columns = Set(try db.columns(in: worksheet.name).map(\.name))
            var needsRebuild = false
            for field in worksheet.fields {
                if let previous = old.field(named: field.name) {
                    if previous.type != field.type {
                        changes.append(SchemaChange(worksheet: worksheet.name, kind: .retypeField(field.name, from: previous.type, to: field.type), statements: []))
                        needsRebuild = true
                    }
                } else if columns.contains(field.name) {
                    changes.append(SchemaChange(worksheet: worksheet.name, kind: .adoptColumn(field.name, field.type), statements: []))
                } else {
                    let isKey = worksheet.key.contains(field.name)
                    if isKey { needsRebuild = true }
                    let sql = "ALTER TABLE \(table.quotedName) ADD COLUMN \(WorksheetTable.columnDefinition(field, isKey: false))"
                    changes.append(SchemaChange(worksheet: worksheet.name, kind: .addField(field.name, field.type), statements: isKey ? [] : [sql]))
                }
            }
            if old.key != worksheet.key {
                changes.append(SchemaChange(worksheet: worksheet.name, kind: .changeKey(from: old.key, to: worksheet.key), statements: []))
                needsRebuild = true
            }
            for field in old.fields where worksheet.field(named: field.name) == nil {
                let sql = "ALTER TABLE \(table.quotedName) DROP COLUMN \(SQL.quote(field.name))"
                changes.append(SchemaChange(worksheet: worksheet.name, kind: .removeField(field.name), statements: [sql]))
                if old.key.contains(field.name) { needsRebuild = true }
            }
            if needsRebuild {
                // Show the rebuild once, on the first change that needs it.
                let statements = rebuildStatements(worksheet, old: old, columns: columns)
                if let index = changes.firstIndex(where: { $0.worksheet == worksheet.name && $0.isDestructive }) {
                    changes[index].statements = statements
                }
                for index in changes.indices where changes[index].worksheet == worksheet.name {
                    if case .removeField = changes[index].kind, changes[index].statements != statements { changes[index].statements = [] }
                    if case .addField = changes[index].kind { changes[index].statements = [] }
                }
            }
        }
        let names = Set(worksheets.map(\.name))
        let orphaned = recorded.keys.filter { !names.contains($0) }.sorted()
        return SchemaPlan(changes: changes, orphanedWorksheets: orphaned)
    }

    static func recorded(_ db: Database) throws -> [String: WorksheetDefinition] {
        var result: [String: WorksheetDefinition] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT name, key FROM _sheetsync_worksheets") {
            let name: String = row["name"]
            let keyJSON: String = row["key"]
            var key: [String] = []
            if case .array(let items) = try JSONReader.parse(keyJSON) {
                key = items.compactMap { if case .string(let s) = $0 { s } else { nil } }
            }
            let fields = try Row.fetchAll(db, sql: "SELECT name, type FROM _sheetsync_fields WHERE worksheet = ? ORDER BY position", arguments: [name])
                .compactMap { row -> WorksheetDefinition.Field? in
                    guard let type = FieldType(rawValue: row["type"]) else { return nil }
                    return WorksheetDefinition.Field(name: row["name"], type: type)
                }
            result[name] = WorksheetDefinition(name: name, key: key, fields: fields)
        }
        return result
    }

    static func record(_ worksheet: WorksheetDefinition, _ db: Database) throws {
        let key = JSONValue.array(worksheet.key.map(JSONValue.string)).jsonText
        try db.execute(sql: """
            INSERT INTO _sheetsync_worksheets (name, key) VALUES (?, ?)
            ON CONFLICT (name) DO UPDATE SET key = excluded.key, updated_at = \(SQL.now) WHERE key IS NOT excluded.key
            """, arguments: [worksheet.name, key])
        try db.execute(sql: "DELETE FROM _sheetsync_fields WHERE worksheet = ?", arguments: [worksheet.name])
        for (position, field) in worksheet.fields.enumerated() {
            try db.execute(sql: "INSERT INTO _sheetsync_fields (worksheet, name, type, position) VALUES (?, ?, ?, ?)",
                           arguments: [worksheet.name, field.name, field.type.rawValue, position])
        }
    }

    // MARK: - Rebuilding a table (retype, key change)

    static let rebuildPrefix = "_sheetsync_rebuild_"

    static func rebuildStatements(_ worksheet: WorksheetDefinition, old: WorksheetDefinition, columns: Set<String>) -> [String] {
        let table = WorksheetTable(worksheet: worksheet)
        let temporary = rebuildPrefix + worksheet.name
        let kept = table.allColumns.filter { columns.contains($0) }.map(SQL.quote).joined(separator: ", ")
        return [
            table.createSQL(as: temporary),
            "INSERT INTO \(SQL.quote(temporary)) (\(kept)) SELECT \(kept) FROM \(table.quotedName)  -- retyped values converted one by one",
            "DROP TABLE \(table.quotedName)",
            "ALTER TABLE \(SQL.quote(temporary)) RENAME TO \(table.quotedName)",
        ]
    }

    /// Copies every row into a table of the new shape, converting retyped values
    /// with the same conversions a sync uses, then swaps the tables.
    static func rebuild(_ worksheet: WorksheetDefinition, _ db: Database) throws {
        let table = WorksheetTable(worksheet: worksheet)
        let temporary = rebuildPrefix + worksheet.name
        let existing = Set(try db.columns(in: worksheet.name).map(\.name))
        let old = try recorded(db)[worksheet.name]
        let copied = table.allColumns.filter { existing.contains($0) }
        try db.execute(sql: table.createSQL(as: temporary))
        let placeholders = Array(repeating: "?", count: copied.count).joined(separator: ", ")
        let insert = try db.makeStatement(sql: "INSERT INTO \(SQL.quote(temporary)) (\(copied.map(SQL.quote).joined(separator: ", "))) VALUES (\(placeholders))")
        let rows = try Row.fetchCursor(db, sql: "SELECT \(copied.map(SQL.quote).joined(separator: ", ")) FROM \(table.quotedName)")
        var rowNumber = 0
        while let row = try rows.next() {
            rowNumber += 1
            var values: [DatabaseValue] = []
            for (index, column) in copied.enumerated() {
                let stored = SQLValue(row[index] as DatabaseValue)
                guard let field = worksheet.field(named: column), let previous = old?.field(named: column), previous.type != field.type else {
                    values.append(stored.databaseValue)
                    continue
                }
                if let converted = try? field.type.convert(stored: stored) {
                    values.append(converted.databaseValue)
                } else if worksheet.key.contains(column) {
                    throw StoreError(.migrationFailed, "Unable to change key field '\(column)' of '\(worksheet.name)' to \(field.type.rawValue), row \(rowNumber) holds a value that cannot be converted. Fix that row with SQL, or keep the old type.")
                } else {
                    values.append(.null)
                }
            }
            do {
                try insert.execute(arguments: StatementArguments(values))
            } catch let error as DatabaseError where error.resultCode == .SQLITE_CONSTRAINT {
                throw StoreError(.migrationFailed, "Unable to change the key of '\(worksheet.name)' to [\(worksheet.key.joined(separator: ", "))], \(describe(error)) at row \(rowNumber): rows would share a key or lack one. Remove the duplicates with SQL, or keep the old key.", underlying: error)
            }
        }
        try db.execute(sql: "DROP TABLE \(table.quotedName)")
        try db.execute(sql: "ALTER TABLE \(SQL.quote(temporary)) RENAME TO \(table.quotedName)")
    }
}

extension SQLValue {
    init(_ value: DatabaseValue) {
        switch value.storage {
        case .null: self = .null
        case .int64(let v): self = .integer(v)
        case .double(let v): self = .real(v)
        case .string(let v): self = .text(v)
        case .blob(let data): self = .blob(Array(data))
        }
    }

    var databaseValue: DatabaseValue {
        switch self {
        case .null: .null
        case .integer(let v): v.databaseValue
        case .real(let v): v.databaseValue
        case .text(let v): v.databaseValue
        case .blob(let bytes): Data(bytes).databaseValue
        }
    }
}
