import Foundation
import GRDB
import SheetSyncCore

extension WorksheetDatabase {
    /// Deliveries of `job` left in flight by a process that stopped mid-send, grouped into
    /// what went out together (a batch, or one delivery).
    public func interruptedUnits(job: String) throws(StoreError) -> [[Delivery]] {
        let cut = try read { db in
            try Delivery.fetchAll(db, sql: "SELECT \(Delivery.selectColumns) FROM _sheetsync_deliveries WHERE job = ? AND state = 'pending' AND in_flight = 1 ORDER BY id",
                                  arguments: [.text(job)])
        }
        return Self.units(cut)
    }

    /// Counts the attempt of deliveries whose process stopped while their request was out.
    public func chargeInterrupted(_ ids: [Int64]) throws(StoreError) {
        try write { db in
            let charge = try db.cachedStatement(sql: """
                UPDATE _sheetsync_deliveries SET attempts = attempts + 1, in_flight = 0,
                    last_error = coalesce(last_error, 'the process stopped while this request was in flight (no answer was recorded)')
                WHERE id = ?
                """)
            for id in ids { try charge.execute(arguments: [id]) }
        }
    }

    /// How many deliveries of `job` wait for an attempt.
    public func pendingCount(job: String) throws(StoreError) -> Int {
        try read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM _sheetsync_deliveries WHERE job = ? AND state = 'pending'", arguments: [job]) ?? 0 }
    }

    /// The pending deliveries of a batch, in the order they were frozen.
    public func batchMembers(_ batchID: String) throws(StoreError) -> [Delivery] {
        try read { db in
            try Delivery.fetchAll(db, sql: "SELECT \(Delivery.selectColumns) FROM _sheetsync_deliveries WHERE batch_id = ? AND state = 'pending' ORDER BY id",
                                  arguments: [.text(batchID)])
        }
    }

    /// Deliveries of `job` due by `now`: for each record only its oldest pending one,
    /// so deliveries of one record go in order.
    ///
    /// With `after`, only deliveries with a larger id, found by walking the ledger in id
    /// order from there and stopping at `limit`: a pass reading a large backlog a chunk at a
    /// time this way reads each row once, where the query without it reads and sorts every
    /// pending delivery of the job for each chunk (quadratic in the backlog, a third of a
    /// 100,000-record push in the profile). A pass starts without `after`, goes on with the
    /// last id it got, and starts again without it when that finds nothing.
    public func dueDeliveries(job: String, now: String, limit: Int, after: Int64? = nil) throws(StoreError) -> [Delivery] {
        try read { db in
            let columns = Delivery.columns.map { "d." + $0 }.joined(separator: ", ")
            let oldest = "d.id = (SELECT min(id) FROM _sheetsync_deliveries o WHERE o.job = d.job AND o.record_key = d.record_key AND o.state = 'pending')"
            guard let after else {
                return try Delivery.fetchAll(db, sql: """
                    SELECT \(columns) FROM _sheetsync_deliveries d
                    WHERE d.job = ? AND d.state = 'pending' AND d.next_attempt_at <= ? AND \(oldest)
                    ORDER BY d.id LIMIT ?
                    """, arguments: [.text(job), .text(now), .integer(limit)])
            }
            // The unary `+` keeps SQLite from using the (job, state, next_attempt_at) index, so
            // that it walks the primary key from `after` and stops after `limit` rows.
            return try Delivery.fetchAll(db, sql: """
                SELECT \(columns) FROM _sheetsync_deliveries d
                WHERE d.id > ? AND +d.job = ? AND +d.state = 'pending' AND +d.next_attempt_at <= ? AND \(oldest)
                ORDER BY d.id LIMIT ?
                """, arguments: [.integer(after), .text(job), .text(now), .integer(limit)])
        }
    }

    /// The earliest `next_attempt_at` among pending deliveries of `job`, if any.
    public func nextDueTime(job: String) throws(StoreError) -> String? {
        try read { db in try String.fetchOne(db, sql: "SELECT min(next_attempt_at) FROM _sheetsync_deliveries WHERE job = ? AND state = 'pending'", arguments: [job]) }
    }

    /// The current row of a record, by its key, and whether `condition` holds for it.
    public func record(in worksheet: WorksheetDefinition, key: [SQLValue], condition: String?) throws(StoreError) -> (values: [String: SQLValue], matches: Bool)? {
        try read { db in
            let match = worksheet.key.map { "\(SQL.quote($0)) IS ?" }.joined(separator: " AND ")
            let columns = worksheet.fields.map { SQL.quote($0.name) }.joined(separator: ", ")
            let test = condition.map { "(\($0))" } ?? "1"
            guard let row = try Row.fetchOne(db, sql: "SELECT \(columns), (\(test)) AS _matches FROM \(SQL.quote(worksheet.name)) WHERE \(match)",
                                             arguments: StatementArguments(key.map(\.databaseValue))) else { return nil }
            var values: [String: SQLValue] = [:]
            for (index, field) in worksheet.fields.enumerated() { values[field.name] = SQLValue(row[index] as DatabaseValue) }
            let matches: Bool = (row["_matches"] as Int64?).map { $0 != 0 } ?? false
            return (values, matches)
        }
    }

    /// The hash of the last acknowledged payload of a record for a job.
    public func pushedHash(job: String, key: String) throws(StoreError) -> String? {
        try read { db in try String.fetchOne(db, sql: "SELECT payload_hash FROM _sheetsync_pushed WHERE job = ? AND record_key = ?", arguments: [job, key]) }
    }

    /// Deliveries of a job (or all jobs), newest first, optionally in one state.
    public func deliveries(job: String?, state: DeliveryState?, limit: Int) throws(StoreError) -> [Delivery] {
        try read { db in
            var conditions: [String] = []
            var arguments: [SQLValue] = []
            if let job { conditions.append("job = ?"); arguments.append(.text(job)) }
            if let state { conditions.append("state = ?"); arguments.append(.text(state.rawValue)) }
            let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
            arguments.append(.integer(limit))
            return try Delivery.fetchAll(db, sql: "SELECT \(Delivery.selectColumns) FROM _sheetsync_deliveries \(filter) ORDER BY id DESC LIMIT ?",
                                         arguments: arguments)
        }
    }

    /// Re-queues deliveries for another attempt now: one by change id, the failed ones,
    /// or every one created since a time. Their payload and id stay the same; their
    /// attempt count starts over. A replayed member of a batch goes out in a new batch
    /// (under a new batch id: the old one may hold other records). Returns how many were re-queued.
    public func replay(job: String, changeID: String?, failedOnly: Bool, since: String?) throws(StoreError) -> Int {
        try write { db in
            var conditions = ["job = ?"]
            var arguments: [DatabaseValueConvertible] = [job]
            if let changeID { conditions.append("change_id = ?"); arguments.append(changeID) }
            if failedOnly { conditions.append("state = 'failed'") }
            if let since { conditions.append("created_at >= ?"); arguments.append(since) }
            if changeID == nil, !failedOnly, since == nil { conditions.append("state = 'failed'") }
            try db.execute(sql: """
                UPDATE _sheetsync_deliveries SET state = 'pending', attempts = 0, next_attempt_at = \(SQL.now), reason = NULL, batch_id = NULL
                WHERE \(conditions.joined(separator: " AND ")) AND state IN ('failed', 'delivered', 'skipped')
                """, arguments: StatementArguments(arguments))
            return db.changesCount
        }
    }

    /// Deletes outbox rows every job reading `worksheet` has consumed.
    public func pruneOutbox(worksheet: String, jobs: [String]) throws(StoreError) {
        guard !jobs.isEmpty else { return }
        try write { db in
            let placeholders = Array(repeating: "?", count: jobs.count).joined(separator: ", ")
            let positions = try Int64.fetchAll(db, sql: "SELECT CAST(value AS INTEGER) FROM _sheetsync_state WHERE name = ? AND job IN (\(placeholders))",
                                               arguments: StatementArguments([StateKey.outboxPosition] + jobs))
            guard positions.count == jobs.count, let consumed = positions.min() else { return }
            try db.execute(sql: "DELETE FROM _sheetsync_outbox WHERE worksheet = ? AND seq <= ?", arguments: [worksheet, consumed])
        }
    }
}

extension WorksheetDatabase {
    /// A time as sheetsync stores it: ISO-8601 UTC with exactly three fraction digits,
    /// the same text SQLite's `strftime('%Y-%m-%dT%H:%M:%fZ', 'now')` writes, so the two
    /// compare correctly as text.
    public static func timestamp(_ date: Date) -> String {
        // Clamped to years 0001…9999 (a date computed from a server's number must never trap).
        let clamped = min(max(date.timeIntervalSince1970, -62_135_596_800), 253_402_300_799)
        let milliseconds = Int64((clamped.isNaN ? 0 : clamped * 1000).rounded(.down))
        let seconds = milliseconds >= 0 ? milliseconds / 1000 : (milliseconds - 999) / 1000
        let fraction = milliseconds - seconds * 1000
        let whole = UTCDateTime(seconds: seconds).description.dropLast()  // "YYYY-MM-DDTHH:MM:SS"
        return "\(whole).\(String(repeating: "0", count: 3 - String(fraction).count))\(fraction)Z"
    }

    /// The key of the latest change of `worksheet` (for testing a push job): the newest
    /// outbox row, else (the outbox is pruned once read) the newest delivery, else the row
    /// updated last; nil for an empty worksheet.
    public func latestChangedKey(worksheet: WorksheetDefinition) throws(StoreError) -> String? {
        try read { db in
            if let key = try String.fetchOne(db, sql: "SELECT record_key FROM _sheetsync_outbox WHERE worksheet = ? ORDER BY seq DESC LIMIT 1", arguments: [worksheet.name]) {
                return key
            }
            if let key = try String.fetchOne(db, sql: "SELECT record_key FROM _sheetsync_deliveries WHERE worksheet = ? ORDER BY id DESC LIMIT 1", arguments: [worksheet.name]) {
                return key
            }
            let key = "json_array(" + worksheet.key.map(SQL.quote).joined(separator: ", ") + ")"
            return try String.fetchOne(db, sql: "SELECT \(key) FROM \(SQL.quote(worksheet.name)) ORDER BY \"_updated_at\" DESC, rowid DESC LIMIT 1")
        }
    }

    /// Record keys changed since `job` last looked, without consuming them (for dry runs).
    public func unconsumedChanges(job: String, worksheet: String) throws(StoreError) -> [(key: String, operation: String)] {
        try read { db in
            let last = try Int64.fetchOne(db, sql: "SELECT CAST(value AS INTEGER) FROM _sheetsync_state WHERE job = ? AND name = ?", arguments: [job, StateKey.outboxPosition]) ?? 0
            return try Row.fetchAll(db, sql: "SELECT record_key, min(operation) AS operation FROM _sheetsync_outbox WHERE worksheet = ? AND seq > ? GROUP BY record_key ORDER BY min(seq)",
                                    arguments: [worksheet, last]).map { ($0["record_key"], $0["operation"]) }
        }
    }
}
