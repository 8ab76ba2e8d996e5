import Foundation
import GRDB
import SheetSyncCore

/// What an upsert did.
public struct UpsertCounts: Sendable, Equatable {
    public var inserted = 0
    public var updated = 0
    /// Rows left as they were: the same values, or (`write: insert`) a key that exists.
    public var unchanged = 0
    /// Records not written because `write: update` found no row with their key (and the
    /// children of such records). Not an error: the run still succeeds.
    public var skipped = 0

    public init(inserted: Int = 0, updated: Int = 0, unchanged: Int = 0, skipped: Int = 0) {
        self.inserted = inserted
        self.updated = updated
        self.unchanged = unchanged
        self.skipped = skipped
    }

    public static func += (lhs: inout UpsertCounts, rhs: UpsertCounts) {
        lhs.inserted += rhs.inserted
        lhs.updated += rhs.updated
        lhs.unchanged += rhs.unchanged
        lhs.skipped += rhs.skipped
    }
}

extension WorksheetDatabase {
    /// Inserts new rows and updates changed ones, in one transaction.
    ///
    /// An unchanged row is not written at all: its `_updated_at` and `_synced_at` stay
    /// as they were and no change is captured for push jobs. Two orders of work, chosen
    /// per batch by whether its first row exists already:
    /// - new rows (a first load): `INSERT … ON CONFLICT (key) DO NOTHING`, and only
    ///   when the key exists, `UPDATE … WHERE key AND (some column differs)`;
    /// - existing rows (a re-sync): `SELECT (every column is the same) … WHERE key`,
    ///   then the insert or the update only when needed.
    /// So each row costs one statement in the common case, and SQLite's own change
    /// count or the comparison tells inserted, updated and unchanged apart.
    ///
    /// `mode` narrows what a record may do (`WriteMode`): `.insert` runs only the insert
    /// (an existing key is unchanged, whatever the values); `.update` compares first and
    /// never inserts (an unknown key is skipped).
    public func upsert(_ batch: RowBatch, into worksheet: WorksheetDefinition, source: String,
                       mode: WriteMode = .upsert) throws(StoreError) -> UpsertCounts {
        try write { db in
            var skipped: [[SQLValue]] = []
            return try Self.upsert(batch, into: worksheet, source: source, mode: mode, db, skippedKeys: &skipped)
        }
    }

    /// - Parameters:
    ///   - skippedKeys: gets the key (in `worksheet.key` order) of each row `.update` skipped,
    ///     so that its children are skipped too.
    ///   - halfway: called before the middle row is written (crash tests stop the
    ///     process there, to prove a page's transaction rolls back whole).
    static func upsert(_ batch: RowBatch, into worksheet: WorksheetDefinition, source: String, mode: WriteMode = .upsert, _ db: Database,
                       skippedKeys: inout [[SQLValue]], halfway: (() -> Void)? = nil) throws -> UpsertCounts {
        guard let firstRow = batch.rows.first else { return UpsertCounts() }
        for name in worksheet.key where !batch.columns.contains(name) {
            throw StoreError(.sqlError, "Unable to write rows to '\(worksheet.name)', key field '\(name)' has no value. Map it in the job's 'fields'.")
        }
        let sql = upsertSQL(columns: batch.columns, worksheet: worksheet)
        let insert = BoundStatement(try db.cachedStatement(sql: sql.insert), db)
        let update = try sql.update.map { BoundStatement(try db.cachedStatement(sql: $0), db) }
        let check = BoundStatement(try db.cachedStatement(sql: sql.check), db)
        let columnCount = Int32(batch.columns.count)
        // One timestamp per batch, bound once per row: strftime() per row showed in profiles.
        let now = WorksheetDatabase.timestamp(Date())
        for statement in [insert] + (update.map { [$0] } ?? []) {
            statement.bind(now, at: columnCount + 1)
            statement.bind(source, at: columnCount + 2)
        }
        /// Whether the row exists (`nil`: no) and, if so, whether it equals `row`.
        func compare(_ row: [SQLValue]) throws -> Bool? {
            for (position, value) in row.enumerated() { check.bind(value, at: Int32(position + 1)) }
            var same: Bool?
            try check.forEachRow { result in same = result.column(0) == .integer(1) }
            return same
        }
        func insertRow(_ row: [SQLValue]) throws -> Bool {
            for (position, value) in row.enumerated() { insert.bind(value, at: Int32(position + 1)) }
            return try insert.execute() > 0
        }
        func updateRow(_ row: [SQLValue]) throws -> Bool {
            guard let update else { return false }
            for (position, value) in row.enumerated() { update.bind(value, at: Int32(position + 1)) }
            return try update.execute() > 0
        }
        let keyIndexes = worksheet.key.compactMap { batch.columns.firstIndex(of: $0) }
        // Whether to compare before writing: always for `update` (it must know the row
        // exists), never for `insert` (the insert's conflict clause tells).
        let checkFirst = switch mode {
        case .upsert: try compare(firstRow) != nil
        case .insert: false
        case .update: true
        }
        var counts = UpsertCounts()
        let middle = halfway == nil ? -1 : batch.rows.count / 2
        var start = 0
        if !checkFirst, mode != .update, batch.rows.count >= insertChunk {
            // A first load: rows go in `insertChunk` at a time, one statement each (`multiInsertSQL`).
            let multi = BoundStatement(try db.cachedStatement(sql: multiInsertSQL(columns: batch.columns, worksheet: worksheet, rows: insertChunk)), db)
            let width = Int32(batch.columns.count)
            multi.bind(now, at: width * Int32(insertChunk) + 1)
            multi.bind(source, at: width * Int32(insertChunk) + 2)
            while start + insertChunk <= batch.rows.count {
                let chunk = batch.rows[start..<(start + insertChunk)]
                if (start..<(start + insertChunk)).contains(middle) { halfway?() }
                for (offset, row) in chunk.enumerated() {
                    for (position, value) in row.enumerated() { multi.bind(value, at: Int32(offset) * width + Int32(position + 1)) }
                }
                let inserted = try multi.execute()
                counts.inserted += inserted
                if mode == .insert || inserted == chunk.count {
                    counts.unchanged += chunk.count - inserted
                } else {
                    // Some keys existed (or came twice): each row of the chunk is updated if it
                    // differs. A row just inserted does not; a later row with a key met earlier
                    // in the chunk does, as it would have one by one.
                    var updated = 0
                    for row in chunk where try updateRow(row) { updated += 1 }
                    counts.updated += updated
                    counts.unchanged += chunk.count - inserted - updated
                }
                start += insertChunk
            }
        }
        for (index, row) in batch.rows.enumerated() where index >= start {
            if index == middle { halfway?() }
            if mode == .insert {
                if try insertRow(row) { counts.inserted += 1 } else { counts.unchanged += 1 }
            } else if checkFirst {
                switch try compare(row) {
                case nil where mode == .update:
                    counts.skipped += 1
                    skippedKeys.append(keyIndexes.map { row[$0] })
                case nil:
                    if try insertRow(row) { counts.inserted += 1 } else { counts.unchanged += 1 }
                case true?:
                    counts.unchanged += 1
                case false?:
                    if try updateRow(row) { counts.updated += 1 } else { counts.unchanged += 1 }
                }
            } else if try insertRow(row) {
                counts.inserted += 1
            } else if try updateRow(row) {
                counts.updated += 1
            } else {
                counts.unchanged += 1
            }
        }
        return counts
    }

    /// Rows per multi-row insert on a first load (`multiInsertSQL`); a batch's last rows
    /// that do not fill one go one by one.
    static let insertChunk = 50

    /// `INSERT … VALUES (…), (…), … ON CONFLICT (key) DO NOTHING` for `rows` rows: row `r`'s
    /// columns are parameters `r·n+1…r·n+n`, the timestamp `rows·n+1`, the source `rows·n+2`.
    /// One statement per chunk instead of one per row: SQLite's change count says how many
    /// rows were new, and when all were (a first load) nothing else is needed.
    static func multiInsertSQL(columns: [String], worksheet: WorksheetDefinition, rows: Int) -> String {
        let n = columns.count
        let (time, source) = (rows * n + 1, rows * n + 2)
        var sql = "INSERT INTO \(SQL.quote(worksheet.name)) (\(columns.map(SQL.quote).joined(separator: ", ")), \"_created_at\", \"_updated_at\", \"_synced_at\", \"_source\") VALUES "
        sql += (0..<rows).map { row in
            "(" + (0..<n).map { "?\(row * n + $0 + 1)" }.joined(separator: ", ") + ", ?\(time), ?\(time), ?\(time), ?\(source))"
        }.joined(separator: ", ")
        sql += " ON CONFLICT (\(worksheet.key.map(SQL.quote).joined(separator: ", "))) DO NOTHING"
        return sql
    }

    /// The statements of an upsert. Parameters are numbered: `?1…?n` are the
    /// batch's columns in order, `?n+1` the timestamp, `?n+2` the source, so each value
    /// is bound once and both statements share the numbering.
    ///
    /// - `insert`: `INSERT … ON CONFLICT (key) DO NOTHING`;
    /// - `update`: `UPDATE … SET … WHERE key = … AND (a IS NOT ?a OR …)`, `nil` when
    ///   every column is part of the key;
    /// - `check`: `SELECT (a IS ?a AND …) … WHERE key = …`: no row, or whether it is the same.
    static func upsertSQL(columns: [String], worksheet: WorksheetDefinition) -> (insert: String, update: String?, check: String) {
        let n = columns.count
        let table = SQL.quote(worksheet.name)
        let parameter = { (index: Int) in "?\(index + 1)" }
        var insert = "INSERT INTO \(table) (\(columns.map(SQL.quote).joined(separator: ", ")), \"_created_at\", \"_updated_at\", \"_synced_at\", \"_source\") "
        insert += "VALUES (\(columns.indices.map(parameter).joined(separator: ", ")), ?\(n + 1), ?\(n + 1), ?\(n + 1), ?\(n + 2)) "
        insert += "ON CONFLICT (\(worksheet.key.map(SQL.quote).joined(separator: ", "))) DO NOTHING"
        let nonKey = columns.indices.filter { !worksheet.key.contains(columns[$0]) }
        let keyMatch = SQL.all(columns.indices.filter { worksheet.key.contains(columns[$0]) }
            .map { "\(SQL.quote(columns[$0])) = \(parameter($0))" })
        let same = SQL.all(nonKey.map { "\(SQL.quote(columns[$0])) IS \(parameter($0))" })
        let check = "SELECT \(same) FROM \(table) WHERE \(keyMatch)"
        guard !nonKey.isEmpty else { return (insert, nil, check) }
        var update = "UPDATE \(table) SET " + nonKey.map { "\(SQL.quote(columns[$0])) = \(parameter($0))" }.joined(separator: ", ")
        update += ", \"_updated_at\" = ?\(n + 1), \"_synced_at\" = ?\(n + 1), \"_source\" = ?\(n + 2) "
        update += "WHERE \(keyMatch) AND " + SQL.any(nonKey.map { "\(SQL.quote(columns[$0])) IS NOT \(parameter($0))" })
        return (insert, update, check)
    }
}
