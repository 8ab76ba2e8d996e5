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
    /// Each row is first inserted with `ON CONFLICT (key) DO NOTHING`; when the key
    /// exists, an `UPDATE … WHERE key AND (some column differs)` follows. So an
    /// unchanged row is not written at all (its `_updated_at` and `_synced_at` stay
    /// as they were and no change is captured for push jobs), and SQLite's own change
    /// count tells inserted, updated and unchanged apart without a key lookup of ours.
    public func upsert(_ batch: RowBatch, into worksheet: WorksheetDefinition, source: String) throws(StoreError) -> UpsertCounts {
        try write { db in try Self.upsert(batch, into: worksheet, source: source, db) }
    }

    static func upsert(_ batch: RowBatch, into worksheet: WorksheetDefinition, source: String, _ db: Database) throws -> UpsertCounts {
        guard !batch.rows.isEmpty else { return UpsertCounts() }
        for name in worksheet.key where !batch.columns.contains(name) {
            throw StoreError(.sqlError, "Unable to write rows to '\(worksheet.name)', key field '\(name)' has no value. Map it in the job's 'fields'.")
        }
        let sql = upsertSQL(columns: batch.columns, worksheet: worksheet)
        let insert = BoundStatement(try db.cachedStatement(sql: sql.insert), db)
        let update = try sql.update.map { BoundStatement(try db.cachedStatement(sql: $0), db) }
        let columnCount = Int32(batch.columns.count)
        // One timestamp per batch, bound once per row: strftime() per row showed in profiles.
        let now = WorksheetDatabase.timestamp(Date())
        for statement in [insert] + (update.map { [$0] } ?? []) {
            statement.bind(now, at: columnCount + 1)
            statement.bind(source, at: columnCount + 2)
        }
        var counts = UpsertCounts()
        // Crash tests ask to die halfway through a page's rows (see FaultInjection in the runner).
        let dieAt = getenv("SHEETSYNC_FAULT_MID_WRITE") != nil ? batch.rows.count / 2 : -1
        for (index, row) in batch.rows.enumerated() {
            if index == dieAt { kill(getpid(), SIGKILL) }
            for (position, value) in row.enumerated() { insert.bind(value, at: Int32(position + 1)) }
            if try insert.execute() > 0 {
                counts.inserted += 1
                continue
            }
            guard let update else { counts.unchanged += 1; continue }
            for (position, value) in row.enumerated() { update.bind(value, at: Int32(position + 1)) }
            if try update.execute() > 0 { counts.updated += 1 } else { counts.unchanged += 1 }
        }
        return counts
    }

    /// The two statements of an upsert. Parameters are numbered: `?1…?n` are the
    /// batch's columns in order, `?n+1` the timestamp, `?n+2` the source, so each value
    /// is bound once and both statements share the numbering.
    ///
    /// - `insert`: `INSERT … ON CONFLICT (key) DO NOTHING`;
    /// - `update`: `UPDATE … SET … WHERE key = … AND (a IS NOT ?a OR …)`, `nil` when
    ///   every column is part of the key.
    static func upsertSQL(columns: [String], worksheet: WorksheetDefinition) -> (insert: String, update: String?) {
        let n = columns.count
        let table = SQL.quote(worksheet.name)
        let parameter = { (index: Int) in "?\(index + 1)" }
        var insert = "INSERT INTO \(table) (\(columns.map(SQL.quote).joined(separator: ", ")), \"_created_at\", \"_updated_at\", \"_synced_at\", \"_source\") "
        insert += "VALUES (\(columns.indices.map(parameter).joined(separator: ", ")), ?\(n + 1), ?\(n + 1), ?\(n + 1), ?\(n + 2)) "
        insert += "ON CONFLICT (\(worksheet.key.map(SQL.quote).joined(separator: ", "))) DO NOTHING"
        let nonKey = columns.indices.filter { !worksheet.key.contains(columns[$0]) }
        guard !nonKey.isEmpty else { return (insert, nil) }
        let keyMatch = columns.indices.filter { worksheet.key.contains(columns[$0]) }
            .map { "\(SQL.quote(columns[$0])) = \(parameter($0))" }.joined(separator: " AND ")
        var update = "UPDATE \(table) SET " + nonKey.map { "\(SQL.quote(columns[$0])) = \(parameter($0))" }.joined(separator: ", ")
        update += ", \"_updated_at\" = ?\(n + 1), \"_synced_at\" = ?\(n + 1), \"_source\" = ?\(n + 2) "
        update += "WHERE \(keyMatch) AND (" + nonKey.map { "\(SQL.quote(columns[$0])) IS NOT \(parameter($0))" }.joined(separator: " OR ") + ")"
        return (insert, update)
    }
}
