import Foundation
import GRDB
import SheetSyncCore

/// What an upsert did.
public struct UpsertCounts: Sendable, Equatable {
    public var inserted = 0
    public var updated = 0
    public var unchanged = 0

    public init(inserted: Int = 0, updated: Int = 0, unchanged: Int = 0) {
        self.inserted = inserted
        self.updated = updated
        self.unchanged = unchanged
    }

    public static func += (lhs: inout UpsertCounts, rhs: UpsertCounts) {
        lhs.inserted += rhs.inserted
        lhs.updated += rhs.updated
        lhs.unchanged += rhs.unchanged
    }
}

extension WorksheetDatabase {
    /// Inserts new rows and updates changed ones, in one transaction.
    ///
    /// Uses `INSERT … ON CONFLICT (key) DO UPDATE SET … WHERE` some column differs, so
    /// an unchanged row is not written at all: its `_updated_at` and `_synced_at`
    /// stay as they were and no change is captured for push jobs.
    public func upsert(_ batch: RowBatch, into worksheet: WorksheetDefinition, source: String) throws(StoreError) -> UpsertCounts {
        try write { db in try Self.upsert(batch, into: worksheet, source: source, db) }
    }

    static func upsert(_ batch: RowBatch, into worksheet: WorksheetDefinition, source: String, _ db: Database) throws -> UpsertCounts {
        guard !batch.rows.isEmpty else { return UpsertCounts() }
        let keyIndexes = try worksheet.key.map { name -> Int in
            guard let index = batch.columns.firstIndex(of: name) else {
                throw StoreError(.sqlError, "Unable to write rows to '\(worksheet.name)', key field '\(name)' has no value. Map it in the job's 'fields'.")
            }
            return index
        }
        var existing = try existingKeys(batch.rows.map { row in keyIndexes.map { row[$0] } }, in: worksheet, db)
        let statement = try db.cachedStatement(sql: upsertSQL(columns: batch.columns, worksheet: worksheet))
        // One timestamp per batch, bound once per row: strftime() per row showed in profiles.
        let now = WorksheetDatabase.timestamp(Date())
        var counts = UpsertCounts()
        // Crash tests ask to die halfway through a page's rows (see FaultInjection in the runner).
        let dieAt = getenv("SHEETSYNC_FAULT_MID_WRITE") != nil ? batch.rows.count / 2 : -1
        for (index, row) in batch.rows.enumerated() {
            if index == dieAt { kill(getpid(), SIGKILL) }
            let key = keyIndexes.map { row[$0] }
            var arguments = StatementArguments(row.map(\.databaseValue))
            arguments += [now, now, now, source]
            try statement.execute(arguments: arguments)
            let changed = db.changesCount > 0
            if existing.contains(key) {
                if changed { counts.updated += 1 } else { counts.unchanged += 1 }
            } else {
                counts.inserted += 1
                existing.insert(key)
            }
        }
        return counts
    }

    /// `INSERT … ON CONFLICT … DO UPDATE … WHERE a IS NOT excluded.a OR …`.
    static func upsertSQL(columns: [String], worksheet: WorksheetDefinition) -> String {
        let quoted = columns.map(SQL.quote)
        let nonKey = columns.filter { !worksheet.key.contains($0) }.map(SQL.quote)
        let table = SQL.quote(worksheet.name)
        var sql = "INSERT INTO \(table) (\(quoted.joined(separator: ", ")), \"_created_at\", \"_updated_at\", \"_synced_at\", \"_source\") "
        sql += "VALUES (\(Array(repeating: "?", count: columns.count).joined(separator: ", ")), ?, ?, ?, ?) "
        sql += "ON CONFLICT (\(worksheet.key.map(SQL.quote).joined(separator: ", "))) "
        if nonKey.isEmpty { return sql + "DO NOTHING" }
        sql += "DO UPDATE SET " + nonKey.map { "\($0) = excluded.\($0)" }.joined(separator: ", ")
        sql += ", \"_updated_at\" = excluded.\"_synced_at\", \"_synced_at\" = excluded.\"_synced_at\", \"_source\" = excluded.\"_source\" "
        sql += "WHERE " + nonKey.map { "\(table).\($0) IS NOT excluded.\($0)" }.joined(separator: " OR ")
        return sql
    }

    /// Which of `keys` already have a row, so an upsert can tell an insert from an
    /// update. A one-column key uses `IN (…)` lists on the primary key; a composite key
    /// uses one cached point lookup per key (row-value `IN (VALUES …)` lists are not
    /// served by the index in SQLite, which made this quadratic).
    static func existingKeys(_ keys: [[SQLValue]], in worksheet: WorksheetDefinition, _ db: Database) throws -> Set<[SQLValue]> {
        var found = Set<[SQLValue]>()
        let table = SQL.quote(worksheet.name)
        if worksheet.key.count == 1 {
            let column = SQL.quote(worksheet.key[0])
            var start = 0
            while start < keys.count {
                let chunk = keys[start..<min(start + 500, keys.count)]
                start += 500
                let sql = "SELECT \(column) FROM \(table) WHERE \(column) IN (\(Array(repeating: "?", count: chunk.count).joined(separator: ", ")))"
                let statement = try db.cachedStatement(sql: sql)
                for row in try Row.fetchAll(statement, arguments: StatementArguments(chunk.map { $0[0].databaseValue })) {
                    found.insert([SQLValue(row[0] as DatabaseValue)])
                }
            }
            return found
        }
        let match = worksheet.key.map { "\(SQL.quote($0)) = ?" }.joined(separator: " AND ")
        let statement = try db.cachedStatement(sql: "SELECT 1 FROM \(table) WHERE \(match)")
        for key in Set(keys) where try Int.fetchOne(statement, arguments: StatementArguments(key.map(\.databaseValue))) != nil {
            found.insert(key)
        }
        return found
    }
}
