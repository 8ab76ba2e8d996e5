import Foundation
import SheetSyncCore
import SheetSyncStore

/// Pages on PostgreSQL: each in one transaction with its requests and the job's state,
/// as on SQLite.
extension PostgresStore {
    public func writePage(rows: [RowBatch], into worksheet: WorksheetDefinition, children: [(ChildRows, WorksheetDefinition)],
                          rejects: [Reject], job: String, run: Int64?, state: [String: String?],
                          stepFailures: [StepFailure], requests: [RequestAttempt],
                          halfway: (() -> Void)?, write mode: WriteMode,
                          first: (@Sendable (any PageWriter) throws -> Void)?) throws(StoreError) -> WriteCounts {
        do {
            return try writeInParts(into: worksheet, job: job, run: run, requests: requests, halfway: halfway, write: mode) { writer in
                try first?(writer)
                for batch in rows { try writer.write(batch, children: [], rejects: []) }
                try (writer as? PostgresPageWriter)?.recordStepFailures(stepFailures)
                try writer.write(RowBatch(columns: []), children: children, rejects: rejects)
                return state
            }
        } catch {
            throw Self.storeError(error)
        }
    }

    public func writeInParts(into worksheet: WorksheetDefinition, job: String, run: Int64?, requests: [RequestAttempt],
                             halfway: (() -> Void)?, write mode: WriteMode,
                             _ body: (any PageWriter) throws -> [String: String?]) throws -> WriteCounts {
        var bodyError: (any Error)?
        do {
            return try session.transaction { db in
                if let run { try Self.recordRequests(requests, run: run, db) }
                // Marks the page's own writes for the digest guards (ends with the transaction).
                try db.execute("SELECT set_config('sheetsync.writing', 'page', true)")
                let writer = PostgresPageWriter(db: db, worksheet: worksheet, job: job, run: run, halfway: halfway, mode: mode)
                let state: [String: String?]
                do {
                    state = try body(writer)
                } catch {
                    bodyError = error
                    throw error
                }
                try writer.storeDigests()
                try writer.storePageDigest()
                try db.execute("SELECT set_config('sheetsync.writing', '', true)")
                // Last before the commit: a page commits only while its run still holds the job.
                if let run, let fence = fences.withLockedValue({ $0[run] }) { try Self.checkFence(fence, job: job, db) }
                try Self.saveState(state, job: job, db)
                return writer.counts
            }
        } catch {
            if let bodyError { throw bodyError }
            throw Self.storeError(error)
        }
    }
}

/// Where the parts of one page go on PostgreSQL, inside the page's transaction.
///
/// Rows go in as multi-row `INSERT … ON CONFLICT (key) DO UPDATE … WHERE (columns) IS
/// DISTINCT FROM (the new values)`: an unchanged row is not written (its `_updated_at`
/// stays), and `RETURNING (xmax = 0)` tells inserted rows from updated ones, so the
/// counts are exact. A key twice in a page goes in two statements, in order, so the
/// later record wins as on SQLite.
final class PostgresPageWriter: PageWriter {
    let db: PostgresSession.Connection
    let worksheet: WorksheetDefinition
    let job: String
    let run: Int64?
    let mode: WriteMode
    private var halfway: (() -> Void)?
    var counts = WriteCounts()
    var page: PageDigest?
    /// Keys of the job's rows `write: update` skipped, until their children are written.
    private var skippedKeys: [[SQLValue]] = []
    /// `skip_unchanged` (`PostgresStore+Digests`): the digests to store once the page's
    /// rows and children are written, and what the page's own digest needs (as `PageSink`).
    var pendingDigests: [(key: [SQLValue], digest: RecordDigest)] = []
    var pageKeys = Set<[SQLValue]>()
    var pageChildRows: [Int] = []
    var pageMovedKeys: [[SQLValue]] = []
    var pageWroteRecords = false
    var pageRejected = false

    init(db: PostgresSession.Connection, worksheet: WorksheetDefinition, job: String, run: Int64?, halfway: (() -> Void)?, mode: WriteMode) {
        self.db = db
        self.worksheet = worksheet
        self.job = job
        self.run = run
        self.halfway = halfway
        self.mode = mode
        counts.byWorksheet[worksheet.name] = UpsertCounts()
    }

    func write(_ rows: RowBatch, children: [(ChildRows, WorksheetDefinition)], rejects: [Reject]) throws {
        let hook = rows.rows.isEmpty ? nil : halfway
        if hook != nil { halfway = nil }
        counts.byWorksheet[worksheet.name, default: UpsertCounts()] += try upsert(rows, into: worksheet, mode: mode, skippedKeys: &skippedKeys, halfway: hook)
        if !children.isEmpty {
            try writeChildren(children, skippedParents: skippedKeys)
            skippedKeys = []
        }
        if !rejects.isEmpty { pageRejected = true }
        for reject in rejects {
            try db.execute("INSERT INTO _sheetsync_rejects (job, run_id, worksheet, reason, raw) VALUES ($1, $2::bigint, $3, $4, $5)",
                           [.text(job), run.map(SQLValue.integer) ?? .null, .text(reject.worksheet), .text(reject.reason), .text(reject.raw)])
            counts.rejected[reject.worksheet, default: 0] += 1
        }
    }

    func recordStepFailures(_ failures: [StepFailure]) throws {
        for failure in failures {
            try db.execute("INSERT INTO _sheetsync_step_failures (run_id, job, step, record_key, error) VALUES ($1::bigint, $2, $3, $4, $5)",
                           [run.map(SQLValue.integer) ?? .null, .text(job), .text(failure.step),
                            .text(JSONValue.array(failure.key.map(\.jsonValue)).jsonText), .text(failure.error)])
        }
    }


    // MARK: Rows

    /// Why PostgreSQL cannot store a row that SQLite can, or nil: a text holding the NUL
    /// character (`text` cannot hold it, and `jsonb` refuses `\u0000`). Such a row is a
    /// reject, as a value that does not convert is: one record from outside must not fail
    /// its whole page, run after run.
    static func unstorable(_ row: [SQLValue], columns: [String], in worksheet: WorksheetDefinition) -> String? {
        for (column, value) in zip(columns, row) {
            guard case .text(let text) = value else { continue }
            if text.utf8.contains(0) {
                return "field '\(column)' holds the NUL character (\\u0000), which PostgreSQL cannot store in text"
            }
            if worksheet.field(named: column)?.type == .json, text.contains("\\u0000") {
                return "field '\(column)' holds the NUL character (\\u0000), which PostgreSQL's jsonb cannot store"
            }
        }
        return nil
    }

    /// The rows of `batch` PostgreSQL can store; the others become rejects of the page, and
    /// their keys join `rejectedKeys` so that their children are not written either (as a
    /// record rejected while it is read takes its children along).
    private func storable(_ batch: RowBatch, in worksheet: WorksheetDefinition, rejectedKeys: inout [[SQLValue]]) throws -> RowBatch {
        let keyIndexes = worksheet.key.compactMap { batch.columns.firstIndex(of: $0) }
        var kept = batch
        kept.rows = []
        kept.digests = []
        for (index, row) in batch.rows.enumerated() {
            if let reason = Self.unstorable(row, columns: batch.columns, in: worksheet) {
                // The row as JSON (a NUL escaped, never raw: the ledger is text too).
                let raw = JSONValue.object(JSONObject(zip(batch.columns, row).map { JSONObject.Member(key: $0, value: $1.jsonValue) })).jsonText
                    .replacingOccurrences(of: "\u{0}", with: "\\u0000")
                try db.execute("INSERT INTO _sheetsync_rejects (job, run_id, worksheet, reason, raw) VALUES ($1, $2::bigint, $3, $4, $5)",
                               [.text(job), run.map(SQLValue.integer) ?? .null, .text(worksheet.name), .text(reason), .text(raw)])
                counts.rejected[worksheet.name, default: 0] += 1
                if keyIndexes.count == worksheet.key.count { rejectedKeys.append(keyIndexes.map { row[$0] }) }
                continue
            }
            kept.rows.append(row)
            if index < batch.digests.count { kept.digests.append(batch.digests[index]) }
        }
        return kept
    }

    /// Writes `batch` into `worksheet` in `mode`; keys `.update` skipped go to `skippedKeys`.
    private func upsert(_ given: RowBatch, into worksheet: WorksheetDefinition, mode: WriteMode,
                        skippedKeys: inout [[SQLValue]], halfway: (() -> Void)?) throws -> UpsertCounts {
        var result = UpsertCounts()
        guard !given.rows.isEmpty else { return result }
        let batch = try storable(given, in: worksheet, rejectedKeys: &skippedKeys)
        if batch.rows.count < given.rows.count { pageRejected = true }
        keepDigests(of: batch)
        guard !batch.rows.isEmpty else { return result }
        let keyIndexes = worksheet.key.compactMap { batch.columns.firstIndex(of: $0) }
        guard keyIndexes.count == worksheet.key.count else {
            throw StoreError(.sqlError, "rows for '\(worksheet.name)' lack its key fields \(worksheet.key)")
        }
        if mode == .update {
            for (position, row) in batch.rows.enumerated() {
                if position == batch.rows.count / 2 { halfway?() }
                switch try update(row, columns: batch.columns, keyIndexes: keyIndexes, in: worksheet) {
                case true?: result.updated += 1
                case false?: result.unchanged += 1
                case nil:
                    result.skipped += 1
                    skippedKeys.append(keyIndexes.map { row[$0] })
                }
            }
            return result
        }
        let table = PostgresStore.quote(worksheet.name)
        let columns = batch.columns
        let others = columns.filter { !worksheet.key.contains($0) }
        // The rows as one array per column (`unnest($1::bigint[], $2::numeric[], …)`): the
        // statement's text is the same for any number of rows, so PostgreSQL parses little,
        // where a `VALUES` list of 500 rows cost it more than the insert itself.
        let arrays = columns.enumerated().map { "$\($0.offset + 1)::" + Self.cast($0.element, in: worksheet) + "[]" }
        let sqlHead = "INSERT INTO \(table) AS t (\(columns.map(PostgresStore.quote).joined(separator: ", ")), \"_created_at\", \"_updated_at\", \"_synced_at\", \"_source\") "
            + "SELECT u.*, now(), now(), now(), $\(columns.count + 1) FROM unnest(\(arrays.joined(separator: ", "))) AS u"
        let conflict: String
        if mode == .insert || others.isEmpty {
            conflict = " ON CONFLICT (\(worksheet.key.map(PostgresStore.quote).joined(separator: ", "))) DO NOTHING RETURNING true"
        } else {
            let set = others.map { "\(PostgresStore.quote($0)) = excluded.\(PostgresStore.quote($0))" }.joined(separator: ", ")
            let old = others.map { "t.\(PostgresStore.quote($0))" }.joined(separator: ", ")
            let new = others.map { "excluded.\(PostgresStore.quote($0))" }.joined(separator: ", ")
            conflict = """
                 ON CONFLICT (\(worksheet.key.map(PostgresStore.quote).joined(separator: ", "))) DO UPDATE SET \(set),
                \"_updated_at\" = now(), \"_synced_at\" = now(), \"_source\" = excluded.\"_source\"
                WHERE ROW(\(old)) IS DISTINCT FROM ROW(\(new)) RETURNING (t.xmax = 0)
                """
        }
        let perStatement = 2_000
        var chunk: [[SQLValue]] = []
        var keys = Set<[SQLValue]>()
        var firstChunk = true
        func flush() throws {
            guard !chunk.isEmpty else { return }
            if firstChunk, let halfway, chunk.count > 1 {
                // Crash tests stop the process in the middle of the page's first rows.
                let middle = chunk.count / 2
                let rest = Array(chunk[middle...])
                chunk = Array(chunk[..<middle])
                try flush()
                halfway()
                chunk = rest
            }
            firstChunk = false
            var values = columns.indices.map { column in SQLValue.text(Self.arrayLiteral(chunk.map { $0[column] })) }
            values.append(.text(job))
            let returned = try db.rows(sqlHead + conflict, values)
            let inserted = returned.filter { $0.first == "1" }.count
            result.inserted += mode == .insert || others.isEmpty ? returned.count : inserted
            result.updated += mode == .insert || others.isEmpty ? 0 : returned.count - inserted
            result.unchanged += chunk.count - returned.count
            chunk.removeAll(keepingCapacity: true)
            keys.removeAll(keepingCapacity: true)
        }
        for row in batch.rows {
            let key = keyIndexes.map { row[$0] }
            // One statement may not change a row twice: a repeated key starts the next one.
            if !keys.insert(key).inserted {
                try flush()
                keys.insert(key)
            }
            chunk.append(row)
            if chunk.count == perStatement { try flush() }
        }
        try flush()
        return result
    }

    /// `.update` of one row: true when written, false when unchanged, nil when no row has its key.
    private func update(_ row: [SQLValue], columns: [String], keyIndexes: [Int], in worksheet: WorksheetDefinition) throws -> Bool? {
        let table = PostgresStore.quote(worksheet.name)
        func cast(_ column: String) -> String { Self.cast(column, in: worksheet) }
        let keyMatch = worksheet.key.enumerated().map { "\(PostgresStore.quote($0.element)) = $\(columns.count + $0.offset + 1)::\(cast($0.element))" }
            .joined(separator: " AND ")
        let others = columns.enumerated().filter { !worksheet.key.contains($0.element) }
        let keyValues = keyIndexes.map { row[$0] }
        if !others.isEmpty {
            let set = others.map { "\(PostgresStore.quote($0.element)) = $\($0.offset + 1)::\(cast($0.element))" }.joined(separator: ", ")
            let differs = "ROW(\(others.map { PostgresStore.quote($0.element) }.joined(separator: ", "))) IS DISTINCT FROM ROW(\(others.map { "$\($0.offset + 1)::\(cast($0.element))" }.joined(separator: ", ")))"
            let changed = try db.changes("""
                UPDATE \(table) SET \(set), "_updated_at" = now(), "_synced_at" = now(), "_source" = $\(columns.count + worksheet.key.count + 1)
                WHERE \(keyMatch) AND \(differs)
                """, row + keyValues + [.text(job)])
            if changed > 0 { return true }
        }
        let exists = worksheet.key.enumerated().map { "\(PostgresStore.quote($0.element)) = $\($0.offset + 1)::\(cast($0.element))" }
            .joined(separator: " AND ")
        return try db.firstValue("SELECT 1 FROM \(table) WHERE \(exists)", keyValues) == nil ? nil : false
    }

    // MARK: Children

    /// Each level's rows in its own mode; `upsert` levels lose the rows their listed
    /// parents no longer have, and those rows' own children at the levels below.
    private func writeChildren(_ children: [(ChildRows, WorksheetDefinition)], skippedParents: [[SQLValue]]) throws {
        var skippedByLevel: [[[SQLValue]]] = []
        var removedByLevel: [[[SQLValue]]] = []
        for (level, (listed, definition)) in children.enumerated() {
            let skippedAbove = listed.parent.map { skippedByLevel[$0] } ?? skippedParents
            let (child, orphans) = listed.removingChildren(of: skippedAbove, definition)
            var skipped = orphans
            var levelCounts = try upsert(child.rows, into: definition, mode: child.write, skippedKeys: &skipped, halfway: nil)
            levelCounts.skipped += orphans.count
            counts.byWorksheet[definition.name, default: UpsertCounts()] += levelCounts
            skippedByLevel.append(skipped)
            var removed: [[SQLValue]] = []
            // Rows whose parent (at the level above) was removed go with it.
            if let parent = listed.parent, !removedByLevel[parent].isEmpty {
                removed += try deleteChildren(of: removedByLevel[parent], link: child.linkColumns, in: definition)
            }
            if child.write == .upsert {
                removed += try removeStale(child, in: definition)
            }
            counts.deleted[definition.name, default: 0] += removed.count
            removedByLevel.append(removed)
        }
    }

    /// Deletes the rows of each listed parent that the page does not list; returns their keys.
    ///
    /// One statement per page and level: `DELETE … WHERE link = ANY(the parents) AND NOT
    /// EXISTS (the rows the page lists)`, each list one array parameter per column. That is
    /// the per-parent rule because the rows were just upserted: a listed key's row belongs
    /// to the parent that lists it, so no kept key can save another parent's row. Arrays,
    /// not `IN (VALUES …)`: with a thousand parents PostgreSQL planned the `VALUES` list as
    /// a hash join over the whole table (266 ms a page at 600,000 rows); `= ANY` through the
    /// key's index takes 6 ms. (The link must lead an index — the key, as child keys
    /// usually start with the link — or this scans the table.)
    private func removeStale(_ child: ChildRows, in definition: WorksheetDefinition) throws -> [[SQLValue]] {
        let linkIndexes = child.linkColumns.compactMap { child.rows.columns.firstIndex(of: $0) }
        let keyIndexes = definition.key.compactMap { child.rows.columns.firstIndex(of: $0) }
        guard linkIndexes.count == child.linkColumns.count, keyIndexes.count == definition.key.count else { return [] }
        var seen = Set<[SQLValue]>()
        let parents = child.parentKeys.filter { seen.insert($0).inserted }.map { Array($0.prefix(child.linkColumns.count)) }
        guard !parents.isEmpty else { return [] }
        let listed = Set(parents)
        let kept = child.rows.rows.filter { row in listed.contains(linkIndexes.map { row[$0] }) }.map { row in keyIndexes.map { row[$0] } }
        func cast(_ column: String) -> String { Self.cast(column, in: definition) }
        var values: [SQLValue] = []
        func arrays(_ columns: [String], _ tuples: [[SQLValue]]) -> [String] {
            columns.enumerated().map { position, column in
                values.append(.text(Self.arrayLiteral(tuples.map { $0[position] })))
                return "$\(values.count)::\(cast(column))[]"
            }
        }
        let table = PostgresStore.quote(definition.name)
        let linkArrays = arrays(child.linkColumns, parents)
        var sql = "DELETE FROM \(table) AS t WHERE "
        if child.linkColumns.count == 1 {
            sql += "t.\(PostgresStore.quote(child.linkColumns[0])) = ANY(\(linkArrays[0]))"
        } else {
            sql += "(\(child.linkColumns.map { "t." + PostgresStore.quote($0) }.joined(separator: ", "))) IN (SELECT * FROM unnest(\(linkArrays.joined(separator: ", "))))"
        }
        if !kept.isEmpty {
            let keyArrays = arrays(definition.key, kept)
            let names = definition.key.indices.map { "k\($0)" }
            let match = zip(names, definition.key).map { "k.\($0) = t.\(PostgresStore.quote($1))" }.joined(separator: " AND ")
            sql += " AND NOT EXISTS (SELECT 1 FROM unnest(\(keyArrays.joined(separator: ", "))) AS k(\(names.joined(separator: ", "))) WHERE \(match))"
        }
        sql += " RETURNING " + definition.key.map { "t." + PostgresStore.quote($0) + "::text" }.joined(separator: ", ")
        // A table filling up during a first load has no statistics yet, and PostgreSQL then
        // scanned all of it per page, testing each row against the thousand parents (3.5 s
        // a page at 120,000 rows): for this statement only, the key's index is the way.
        try db.execute("SET LOCAL enable_seqscan = off")
        let removed = try db.rows(sql, values).map { row in
            Self.key(row, of: definition)
        }
        try db.execute("SET LOCAL enable_seqscan = on")
        return removed
    }

    /// A PostgreSQL array literal of `values` as text (`{"a","b\\"c",NULL}`); the parameter's
    /// cast (`$1::numeric[]`) makes each element the column's type. Built byte by byte: it
    /// is every value of every row on its way to the server.
    static func arrayLiteral(_ values: [SQLValue]) -> String {
        var bytes: [UInt8] = [UInt8(ascii: "{")]
        bytes.reserveCapacity(values.count * 12 + 2)
        func quoted(_ text: some Sequence<UInt8>) {
            bytes.append(UInt8(ascii: "\""))
            for byte in text {
                if byte == UInt8(ascii: "\\") || byte == UInt8(ascii: "\"") { bytes.append(UInt8(ascii: "\\")) }
                bytes.append(byte)
            }
            bytes.append(UInt8(ascii: "\""))
        }
        for (index, value) in values.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            switch value {
            case .null: bytes += "NULL".utf8
            case .integer(let number): bytes += String(number).utf8
            case .real(let number): if number.isFinite { quoted("\(number)".utf8) } else { bytes += "NULL".utf8 }
            case .text(let string): quoted(string.utf8)
            case .blob(let blob): quoted(("\\x" + PostgresStore.hex(blob)).utf8)
            }
        }
        bytes.append(UInt8(ascii: "}"))
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Deletes the rows whose link columns hold one of `parents` (keys of removed rows).
    private func deleteChildren(of parents: [[SQLValue]], link: [String], in definition: WorksheetDefinition) throws -> [[SQLValue]] {
        let table = PostgresStore.quote(definition.name)
        func cast(_ column: String) -> String { Self.cast(column, in: definition) }
        let match = link.enumerated().map { "\(PostgresStore.quote($0.element)) = $\($0.offset + 1)::\(cast($0.element))" }.joined(separator: " AND ")
        var removed: [[SQLValue]] = []
        for parent in Set(parents) {
            removed += try db.rows("DELETE FROM \(table) WHERE \(match) RETURNING " + definition.key.map { PostgresStore.quote($0) + "::text" }.joined(separator: ", "),
                                   Array(parent.prefix(link.count))).map { row in
                Self.key(row, of: definition)
            }
        }
        return removed
    }

    /// The column type of `column` of `worksheet`, for a cast (`$1::numeric`).
    static func cast(_ column: String, in worksheet: WorksheetDefinition) -> String {
        PostgresStore.columnType(worksheet.field(named: column)?.type ?? .text)
    }

    /// A key returned as text (`RETURNING key::text`), as the core holds it.
    static func key(_ row: [String?], of worksheet: WorksheetDefinition) -> [SQLValue] {
        zip(worksheet.key, row).map { column, text in value(text, as: worksheet.field(named: column)?.type ?? .text) }
    }

    /// A key value read back as text, as the core would hold it (for matching the levels below).
    static func value(_ text: String?, as type: FieldType) -> SQLValue {
        guard let text else { return .null }
        switch type {
        case .integer: return Int64(text).map(SQLValue.integer) ?? .text(text)
        case .number: return Double(text).map(SQLValue.real) ?? .text(text)
        case .boolean: return .integer(text == "true" || text == "t" || text == "1" ? 1 : 0)
        default: return .text(text)
        }
    }
}
