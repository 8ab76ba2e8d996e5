import Foundation
import SheetSyncCore
import SheetSyncStore

/// Worksheet tables on PostgreSQL: what `migrate` creates and changes.
extension PostgresStore {
    /// The column type of a field (see the type table on `PostgresStore`).
    static func columnType(_ type: FieldType) -> String {
        switch type {
        case .text: "text"
        case .integer: "bigint"
        case .number: "double precision"
        case .decimal: "numeric"
        case .boolean: "boolean"
        case .date: "date"
        case .datetime: "timestamptz"
        case .json: "jsonb"
        }
    }

    static func quote(_ identifier: String) -> String {
        "\"" + identifier.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// PostgreSQL cuts longer names to 63 bytes without a word, so two long names could
    /// become one column: refused instead.
    static let longestName = 63

    static func createSQL(_ worksheet: WorksheetDefinition) -> String {
        var lines = worksheet.fields.map { columnDefinition($0, isKey: worksheet.key.contains($0.name)) }
        lines += ["\"_created_at\" timestamptz NOT NULL DEFAULT now()", "\"_updated_at\" timestamptz NOT NULL DEFAULT now()",
                  "\"_synced_at\" timestamptz", "\"_source\" text",
                  "PRIMARY KEY (\(worksheet.key.map(quote).joined(separator: ", ")))"]
        return "CREATE TABLE \(quote(worksheet.name)) (\n    \(lines.joined(separator: ",\n    "))\n)"
    }

    static func columnDefinition(_ field: WorksheetDefinition.Field, isKey: Bool) -> String {
        "\(quote(field.name)) \(columnType(field.type))" + (isKey ? " NOT NULL" : "")
    }

    /// Fields a worksheet may have here: PostgreSQL's 1,600 columns a table, less the 4
    /// system columns (SQLite holds more: `WorksheetDefinition.maxFields`).
    public static let maxFields = 1_596

    public func plan(for worksheets: [WorksheetDefinition]) throws(StoreError) -> SchemaPlan {
        try read { db in try Self.plan(worksheets, db) }
    }

    static func plan(_ worksheets: [WorksheetDefinition], _ db: PostgresSession.Connection) throws -> SchemaPlan {
        for worksheet in worksheets where worksheet.fields.count > maxFields {
            throw StoreError(.migrationFailed, "worksheet '\(worksheet.name)' has \(worksheet.fields.count) fields; on PostgreSQL a worksheet holds at most \(maxFields) (its limit of 1,600 columns less sheetsync's 4 system columns): split it into worksheets that share the key")
        }
        for worksheet in worksheets {
            for name in [worksheet.name] + worksheet.fields.map(\.name) where name.utf8.count > longestName {
                throw StoreError(.migrationFailed, "'\(name)' in worksheet '\(worksheet.name)' is longer than PostgreSQL's \(longestName)-byte limit for names (it would be cut short, and two names could become one); give it a shorter name in schema/")
            }
        }
        let tables = Set(try db.rows("SELECT table_name::text FROM information_schema.tables WHERE table_schema = current_schema()").compactMap { $0[0] })
        var recordedKeys: [String: [String]] = [:]
        for row in try db.rows("SELECT name, key FROM _sheetsync_worksheets") {
            guard let name = row[0], let key = row[1], case .array(let values)? = try? JSONReader.parse(key) else { continue }
            recordedKeys[name] = values.compactMap { if case .string(let text) = $0 { text } else { nil } }
        }
        var recordedFields: [String: [String: FieldType]] = [:]
        for row in try db.rows("SELECT worksheet, name, type FROM _sheetsync_fields") {
            guard let worksheet = row[0], let name = row[1], let type = row[2].flatMap(FieldType.init(rawValue:)) else { continue }
            recordedFields[worksheet, default: [:]][name] = type
        }
        // Every table's columns in one query (a query per worksheet was most of a run's
        // start on a project of 20 worksheets).
        var columnsByTable: [String: Set<String>] = [:]
        for row in try db.rows("""
            SELECT c.relname::text, a.attname::text FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
            WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
            """) {
            if let table = row[0], let column = row[1] { columnsByTable[table, default: []].insert(column) }
        }
        var changes: [SchemaChange] = []
        for worksheet in worksheets {
            let table = quote(worksheet.name)
            guard tables.contains(worksheet.name) else {
                changes.append(SchemaChange(worksheet: worksheet.name, kind: .createTable, statements: [createSQL(worksheet)]))
                continue
            }
            // A table sheetsync did not make is not taken over, as on SQLite: it has no key
            // of the worksheet's (upserts need one), and its rows are someone else's.
            guard recordedKeys[worksheet.name] != nil else {
                throw StoreError(.migrationFailed, "Unable to create worksheet '\(worksheet.name)', a table of that name already exists and was not made by sheetsync. Rename the table, or give the worksheet another name in schema/.")
            }
            let columns = columnsByTable[worksheet.name] ?? []
            let recorded = recordedFields[worksheet.name] ?? [:]
            for field in worksheet.fields {
                let column = quote(field.name)
                if let old = recorded[field.name], columns.contains(field.name) {
                    guard old != field.type else { continue }
                    changes.append(SchemaChange(worksheet: worksheet.name, kind: .retypeField(field.name, from: old, to: field.type, convertingAll: true), statements: [
                        "ALTER TABLE \(table) ALTER COLUMN \(column) TYPE \(columnType(field.type)) USING \(column)::text::\(columnType(field.type))",
                    ]))
                } else if columns.contains(field.name) {
                    changes.append(SchemaChange(worksheet: worksheet.name, kind: .adoptColumn(field.name, field.type), statements: []))
                } else {
                    // Added without NOT NULL even as part of a new key: the rows already there have no value.
                    changes.append(SchemaChange(worksheet: worksheet.name, kind: .addField(field.name, field.type), statements: [
                        "ALTER TABLE \(table) ADD COLUMN \(columnDefinition(field, isKey: false))",
                    ]))
                }
            }
            for name in recorded.keys.sorted() where worksheet.field(named: name) == nil && columns.contains(name) {
                changes.append(SchemaChange(worksheet: worksheet.name, kind: .removeField(name), statements: ["ALTER TABLE \(table) DROP COLUMN \(quote(name))"]))
            }
            if let oldKey = recordedKeys[worksheet.name], oldKey != worksheet.key {
                let constraint = try db.firstValue("""
                    SELECT conname::text FROM pg_constraint WHERE conrelid = to_regclass($1) AND contype = 'p'
                    """, [.text(table)])
                var statements = constraint.map { ["ALTER TABLE \(table) DROP CONSTRAINT \(quote($0))"] } ?? []
                statements.append("ALTER TABLE \(table) ADD PRIMARY KEY (\(worksheet.key.map(quote).joined(separator: ", ")))")
                changes.append(SchemaChange(worksheet: worksheet.name, kind: .changeKey(from: oldKey, to: worksheet.key), statements: statements))
            }
        }
        let names = Set(worksheets.map(\.name))
        return SchemaPlan(changes: changes, orphanedWorksheets: recordedKeys.keys.filter { !names.contains($0) && tables.contains($0) }.sorted())
    }

    /// Brings the worksheet tables in line with `worksheets` in one transaction (see
    /// `WorksheetDatabase.migrate`). Differences from SQLite: a retyped field's values are
    /// converted by PostgreSQL's casts, and one that does not convert stops the whole
    /// migration (nothing is changed) instead of becoming NULL. Capture triggers are
    /// replaced only when their definition changed (`installCapture`).
    @discardableResult
    public func migrate(_ worksheets: [WorksheetDefinition], allowDestructive: Bool,
                        captured: Set<String>, pushJobs: [String: String]) throws(StoreError) -> SchemaPlan {
        // Before every run: most find everything in place, and say so from reads alone —
        // without the lock every node's every run would wait for in turn.
        if let settled = try read({ db in try Self.settled(worksheets, captured: captured.union(pushJobs.values), pushJobs: pushJobs, db) }) {
            return settled
        }
        return try write { db in
            // One migrating process at a time (another waits, then finds nothing to do).
            try db.execute("SELECT pg_advisory_xact_lock(\(PostgresMigrations.lockKey))")
            let plan = try Self.plan(worksheets, db)
            try plan.refuseDestructive(unless: allowDestructive)
            let captured = captured.union(pushJobs.values)
            try plan.refuseStrandingChanges(captured: captured, pushJobs: pushJobs) { try Self.undelivered(worksheet: $0, jobs: $1, db) }
            try Self.dropCapture(on: Set(plan.changes.filter { !$0.statements.isEmpty }.map(\.worksheet)), db)
            // A schema change drops every digest and guard (as on SQLite): the next run of a
            // job makes its guards again.
            if !plan.changes.isEmpty { try Self.dropDigestGuards(db) }
            for change in plan.changes {
                for statement in change.statements { try db.execute(statement) }
                if !change.statements.isEmpty {
                    try db.execute("INSERT INTO _sheetsync_schema_changes (worksheet, change, sql) VALUES ($1, $2, $3)",
                                   [.text(change.worksheet), .text(change.description), .text(change.statements.joined(separator: ";\n"))])
                }
            }
            for worksheet in worksheets {
                guard try plan.changes.contains(where: { $0.worksheet == worksheet.name }) || !Self.isRecorded(worksheet, db) else { continue }
                let key = JSONValue.array(worksheet.key.map(JSONValue.string)).jsonText
                try db.execute("""
                    INSERT INTO _sheetsync_worksheets (name, key) VALUES ($1, $2)
                    ON CONFLICT (name) DO UPDATE SET key = excluded.key, updated_at = now()
                    """, [.text(worksheet.name), .text(key)])
                try db.execute("DELETE FROM _sheetsync_fields WHERE worksheet = $1", [.text(worksheet.name)])
                for (position, field) in worksheet.fields.enumerated() {
                    try db.execute("INSERT INTO _sheetsync_fields (worksheet, name, type, position) VALUES ($1, $2, $3, $4::integer)",
                                   [.text(worksheet.name), .text(field.name), .text(field.type.rawValue), .integer(Int64(position))])
                }
            }
            try Self.installCapture(worksheets, captured: captured, db)
            try Self.registerPushJobs(pushJobs, db)
            return plan
        }
    }

    /// The plan, when migrating would change nothing: no schema change, every worksheet
    /// recorded, the capture triggers as wanted, every push job registered. Nil otherwise
    /// (then `migrate` takes the lock and does the work).
    static func settled(_ worksheets: [WorksheetDefinition], captured: Set<String>, pushJobs: [String: String],
                        _ db: PostgresSession.Connection) throws -> SchemaPlan? {
        let plan = try plan(worksheets, db)
        guard plan.changes.isEmpty else { return nil }
        let recorded = Set(try db.rows("SELECT name FROM _sheetsync_worksheets").compactMap { $0[0] })
        guard worksheets.allSatisfy({ recorded.contains($0.name) }) else { return nil }
        let existing = try captureTriggers(db)
        let wanted = Dictionary(uniqueKeysWithValues: worksheets.filter { captured.contains($0.name) }.map { ($0.name, Set(captureTriggers(for: $0).keys)) })
        guard existing.filter({ !$0.value.isEmpty }) == wanted.filter({ !$0.value.isEmpty }) else { return nil }
        let registered = Set(try db.rows("SELECT job FROM _sheetsync_state WHERE name = $1", [.text(StateKey.outboxPosition)]).compactMap { $0[0] })
        guard pushJobs.keys.allSatisfy(registered.contains) else { return nil }
        return plan
    }

    private static func isRecorded(_ worksheet: WorksheetDefinition, _ db: PostgresSession.Connection) throws -> Bool {
        try db.firstValue("SELECT 1 FROM _sheetsync_worksheets WHERE name = $1", [.text(worksheet.name)]) != nil
    }
}
