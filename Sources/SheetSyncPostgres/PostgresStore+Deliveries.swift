import Foundation
import SheetSyncCore
import SheetSyncStore

/// Push jobs on PostgreSQL: taking captured changes into the delivery ledger, and the
/// ledger itself. The same rules as SQLite's (`WorksheetDatabase+Outbox`, `+Deliveries`,
/// `+DeliveryAttempts`), where the reasons are written down; what differs is said here.
extension PostgresStore {
    // MARK: Changes captured

    @discardableResult
    public func ingestChanges(job: String, worksheet: String, chunk: Int) throws(StoreError) -> Int {
        var queued = 0
        while true {
            let (count, more) = try write { db in try Self.ingestChunk(job: job, worksheet: worksheet, limit: max(1, chunk), db) }
            queued += count
            if !more { return queued }
        }
    }

    /// One chunk, set-based, as in SQLite. First it waits for every transaction that has
    /// captured a change and not yet committed (their inserts hold a lock `SHARE` waits
    /// for): a sequence number is taken at the insert, not at the commit, so without the
    /// wait a change numbered 100 could commit after the job's position had moved past it
    /// to 101, and never be delivered. The lock is held only while the chunk is taken in.
    static func ingestChunk(job: String, worksheet: String, limit: Int, _ db: PostgresSession.Connection) throws -> (queued: Int, more: Bool) {
        // One intake per job at a time across nodes: two would read the same position and
        // queue each change twice (under two ids).
        try db.execute("SELECT pg_advisory_xact_lock($1::integer, hashtext($2))", [.integer(Self.lockClass), .text("intake:" + job)])
        try db.execute("LOCK TABLE _sheetsync_outbox IN SHARE MODE")
        let last = try outboxPosition(job: job, db)
        let window = try db.rows("""
            SELECT count(*), max(seq) FROM (SELECT seq FROM _sheetsync_outbox WHERE worksheet = $1 AND seq > $2::bigint ORDER BY seq LIMIT $3::integer) w
            """, [.text(worksheet), .integer(last), .integer(Int64(limit))])
        guard let newest = window.first?[1].flatMap({ Int64($0) }) else { return (0, false) }
        let count = Int(window[0][0] ?? "") ?? 0
        // $1 worksheet, $2 last position, $3 newest seq of the chunk, $4 job.
        let changes = """
            WITH chunk AS (SELECT seq, record_key, operation FROM _sheetsync_outbox
                           WHERE worksheet = $1 AND seq > $2::bigint AND seq <= $3::bigint AND (origin IS NULL OR origin <> $4)),
                 records AS (SELECT record_key, min(seq) AS first_seq, max(seq) AS last_seq FROM chunk GROUP BY record_key)
            """
        let open = """
            SELECT max(o.id) FROM _sheetsync_deliveries o
            WHERE o.job = $4 AND o.record_key = r.record_key AND o.state = 'pending' AND o.attempts = 0 AND o.payload IS NULL
            """
        let values: [SQLValue] = [.text(worksheet), .integer(last), .integer(newest), .text(job)]
        try db.execute("""
            \(changes)
            UPDATE _sheetsync_deliveries SET outbox_seq = r.last_seq FROM records r
            WHERE _sheetsync_deliveries.id = (\(open))
            """, values)
        // Change ids as `Delivery.newChangeID` makes them: 122 random bits (a version 4 UUID).
        let queued = try db.changes("""
            \(changes)
            INSERT INTO _sheetsync_deliveries (job, worksheet, record_key, change_id, first_operation, outbox_seq)
            SELECT $4, $1, r.record_key, 'chg_' || replace(gen_random_uuid()::text, '-', ''),
                (SELECT operation FROM chunk c WHERE c.seq = r.first_seq), r.last_seq
            FROM records r WHERE (\(open)) IS NULL
            ORDER BY r.first_seq
            """, values)
        try saveState([StateKey.outboxPosition: String(newest)], job: job, db)
        return (queued, count == limit)
    }

    /// The job's outbox position; a value that is not a number (written by hand) reads as 0,
    /// as SQLite's `CAST` does.
    static func outboxPosition(job: String, _ db: PostgresSession.Connection) throws -> Int64 {
        let text = try db.firstValue("SELECT value FROM _sheetsync_state WHERE job = $1 AND name = $2",
                                     [.text(job), .text(StateKey.outboxPosition)])
        return text.flatMap { Int64($0) } ?? 0
    }

    public func dropPending(job: String, worksheet: String) throws(StoreError) -> Int {
        try ingestChanges(job: job, worksheet: worksheet)
        return try write { db in
            try db.changes("""
                UPDATE _sheetsync_deliveries SET state = 'skipped', reason = 'dropped with sheetsync push --drop-pending'
                WHERE job = $1 AND state = 'pending'
                """, [.text(job)])
        }
    }

    public func pruneOutbox(worksheet: String, jobs: [String]) throws(StoreError) {
        guard !jobs.isEmpty else { return }
        try write { db in
            let positions = try db.rows("SELECT value FROM _sheetsync_state WHERE name = $1 AND job = ANY($2::text[])",
                                        [.text(StateKey.outboxPosition), .text(PostgresPageWriter.arrayLiteral(jobs.map(SQLValue.text)))])
                .map { $0[0].flatMap { Int64($0) } ?? 0 }
            guard positions.count == jobs.count, let consumed = positions.min() else { return }
            try db.execute("DELETE FROM _sheetsync_outbox WHERE worksheet = $1 AND seq <= $2::bigint", [.text(worksheet), .integer(consumed)])
        }
    }

    public func latestChangedKey(worksheet: WorksheetDefinition) throws(StoreError) -> String? {
        try read { db in
            if let key = try db.firstValue("SELECT record_key FROM _sheetsync_outbox WHERE worksheet = $1 ORDER BY seq DESC LIMIT 1", [.text(worksheet.name)]) {
                return key
            }
            if let key = try db.firstValue("SELECT record_key FROM _sheetsync_deliveries WHERE worksheet = $1 ORDER BY id DESC LIMIT 1", [.text(worksheet.name)]) {
                return key
            }
            return try db.firstValue("SELECT \(Self.recordKey(of: worksheet)) FROM \(Self.quote(worksheet.name)) ORDER BY \"_updated_at\" DESC LIMIT 1")
        }
    }

    public func unconsumedChanges(job: String, worksheet: String) throws(StoreError) -> [(key: String, operation: String)] {
        try read { db in
            let last = try Self.outboxPosition(job: job, db)
            return try db.rows("""
                SELECT record_key, min(operation) FROM _sheetsync_outbox WHERE worksheet = $1 AND seq > $2::bigint
                GROUP BY record_key ORDER BY min(seq)
                """, [.text(worksheet), .integer(last)]).map { ($0[0] ?? "", $0[1] ?? "update") }
        }
    }

    // MARK: The ledger

    static func deliveries(_ sql: String, _ values: [SQLValue], _ db: PostgresSession.Connection) throws -> [Delivery] {
        try db.rows(sql, values).map(Delivery.init(text:))
    }

    /// The nodes alive now (heartbeat within `NodeRecord.deadAfterSeconds`), as SQL: a
    /// delivery in flight on one of them is being sent; on any other process it was cut.
    static let liveNodes = "SELECT id FROM _sheetsync_nodes WHERE heartbeat_at > now() - make_interval(secs => \(NodeRecord.deadAfterSeconds))"

    public func interruptedUnits(job: String) throws(StoreError) -> [[Delivery]] {
        let cut = try read { db in
            try Self.deliveries("""
                SELECT \(Delivery.selectColumns) FROM _sheetsync_deliveries WHERE job = $1 AND state = 'pending' AND in_flight = 1
                    AND (claimed_by IS NULL OR claimed_by NOT IN (\(Self.liveNodes))) ORDER BY id
                """, [.text(job)], db)
        }
        return Self.units(cut)
    }

    public func chargeInterrupted(_ ids: [Int64]) throws(StoreError) {
        guard !ids.isEmpty else { return }
        try write { db in
            try db.execute("""
                UPDATE _sheetsync_deliveries SET attempts = attempts + 1, in_flight = 0,
                    last_error = coalesce(last_error, 'the process stopped while this request was in flight (no answer was recorded)')
                WHERE id = ANY($1::bigint[])
                """, [.text(PostgresPageWriter.arrayLiteral(ids.map(SQLValue.integer)))])
        }
    }

    public func pendingCount(job: String) throws(StoreError) -> Int {
        try read { db in
            Int(try db.firstValue("SELECT count(*) FROM _sheetsync_deliveries WHERE job = $1 AND state = 'pending'", [.text(job)]) ?? "") ?? 0
        }
    }

    public func batchMembers(_ batchID: String) throws(StoreError) -> [Delivery] {
        try read { db in
            try Self.deliveries("SELECT \(Delivery.selectColumns) FROM _sheetsync_deliveries WHERE batch_id = $1 AND state = 'pending' ORDER BY id",
                                [.text(batchID)], db)
        }
    }

    public func dueDeliveries(job: String, now: String, limit: Int, after: Int64?) throws(StoreError) -> [Delivery] {
        try read { db in
            let columns = Delivery.columns.map { "d." + $0 }.joined(separator: ", ")
            return try Self.deliveries("""
                SELECT \(columns) FROM _sheetsync_deliveries d
                WHERE d.job = $1 AND d.state = 'pending' AND d.next_attempt_at <= $2::timestamptz AND d.id > $4::bigint
                    AND NOT (d.in_flight = 1 AND d.claimed_by IN (\(Self.liveNodes)))
                    AND d.id = (SELECT min(id) FROM _sheetsync_deliveries o WHERE o.job = d.job AND o.record_key = d.record_key AND o.state = 'pending')
                ORDER BY d.id LIMIT $3::integer
                """, [.text(job), .text(now), .integer(Int64(max(0, limit))), .integer(after ?? 0)], db)
        }
    }

    public func nextDueTime(job: String) throws(StoreError) -> String? {
        try read { db in
            try db.firstValue("SELECT min(next_attempt_at) FROM _sheetsync_deliveries WHERE job = $1 AND state = 'pending'", [.text(job)])
        }
    }

    public func deliveries(job: String?, state: DeliveryState?, limit: Int) throws(StoreError) -> [Delivery] {
        try read { db in
            try Self.deliveries("""
                SELECT \(Delivery.selectColumns) FROM _sheetsync_deliveries
                WHERE ($1::text IS NULL OR job = $1) AND ($2::text IS NULL OR state = $2) ORDER BY id DESC LIMIT $3::integer
                """, [job.map(SQLValue.text) ?? .null, state.map { .text($0.rawValue) } ?? .null, .integer(Int64(max(0, limit)))], db)
        }
    }

    public func replay(job: String, changeID: String?, failedOnly: Bool, since: String?) throws(StoreError) -> Int {
        try write { db in
            var conditions = ["job = $1"]
            var values: [SQLValue] = [.text(job)]
            if let changeID { values.append(.text(changeID)); conditions.append("change_id = $\(values.count)") }
            if failedOnly { conditions.append("state = 'failed'") }
            if let since { values.append(.text(since)); conditions.append("created_at >= $\(values.count)::timestamptz") }
            if changeID == nil, !failedOnly, since == nil { conditions.append("state = 'failed'") }
            return try db.changes("""
                UPDATE _sheetsync_deliveries SET state = 'pending', attempts = 0, next_attempt_at = now(), reason = NULL, batch_id = NULL
                WHERE \(conditions.joined(separator: " AND ")) AND state IN ('failed', 'delivered', 'skipped')
                """, values)
        }
    }

    // MARK: Records

    /// A record's key as the capture trigger writes it: a JSON array of each key value as
    /// `jsonb` writes it, without spaces (`[1,"a"]`).
    static func recordKey(of worksheet: WorksheetDefinition, table: String? = nil) -> String {
        let prefix = table.map { $0 + "." } ?? ""
        return "'[' || concat_ws(',', " + worksheet.key.map { "to_jsonb(\(prefix)\(quote($0)))::text" }.joined(separator: ", ") + ") || ']'"
    }

    /// The key values of a record key, as text exactly as written there (a number keeps
    /// its digits: a `numeric` key must find its row, not a rounded double's).
    static func keyTexts(_ recordKey: String) -> [SQLValue] {
        guard case .array(let items)? = try? JSONReader.parse(recordKey) else { return [] }
        return items.map { item in
            switch item {
            case .number(let digits): .text(digits)
            case .string(let text): .text(text)
            case .bool(let flag): .text(flag ? "true" : "false")
            default: .null
            }
        }
    }

    /// A column as the core reads it (`value(_:as:)`): `jsonb` as its text.
    static func selected(_ field: WorksheetDefinition.Field, table: String) -> String {
        field.type == .json ? "\(table).\(quote(field.name))::text" : "\(table).\(quote(field.name))"
    }

    /// `SELECT` of a record's key (as the triggers write it), its fields and whether
    /// `condition` holds, from `t`.
    static func recordSelect(_ worksheet: WorksheetDefinition, condition: String?) -> String {
        let columns = worksheet.fields.map { selected($0, table: "t") }.joined(separator: ", ")
        // The user's condition is SQL over the worksheet (PostgreSQL's dialect here); NULL is false.
        let test = condition.map { "coalesce((\($0))::boolean, false)" } ?? "true"
        return "SELECT \(recordKey(of: worksheet, table: "t")), \(columns), \(test) FROM \(quote(worksheet.name)) t"
    }

    static func record(_ row: [String?], of worksheet: WorksheetDefinition) -> (values: [String: SQLValue], matches: Bool) {
        var values: [String: SQLValue] = [:]
        for (index, field) in worksheet.fields.enumerated() { values[field.name] = PostgresPageWriter.value(row[index + 1], as: field.type) }
        return (values, row[worksheet.fields.count + 1] == "1")
    }

    public func record(in worksheet: WorksheetDefinition, key: [SQLValue], condition: String?) throws(StoreError) -> (values: [String: SQLValue], matches: Bool)? {
        try read { db in
            let match = worksheet.key.enumerated().map { "t.\(Self.quote($0.element)) = $\($0.offset + 1)::\(PostgresPageWriter.cast($0.element, in: worksheet))" }
            let values = key.map { value -> SQLValue in if case .real(let number) = value { .text("\(number)") } else { value } }
            guard values.count == worksheet.key.count else { return nil }
            return try db.rows(Self.recordSelect(worksheet, condition: condition) + " WHERE " + match.joined(separator: " AND "), values)
                .first.map { Self.record($0, of: worksheet) }
        }
    }

    public func pushedHash(job: String, key: String) throws(StoreError) -> String? {
        try read { db in
            try db.firstValue("SELECT payload_hash FROM _sheetsync_pushed WHERE job = $1 AND record_key = $2", [.text(job), .text(key)])
        }
    }

    /// One statement for the records of a chunk (their key values as one array per key
    /// column, through the primary key), one for their acknowledged hashes.
    public func pushInputs(job: String, worksheet: WorksheetDefinition, recordKeys: [String], condition: String?) throws(StoreError)
        -> [(record: (values: [String: SQLValue], matches: Bool)?, pushedHash: String?)] {
        guard !recordKeys.isEmpty else { return [] }
        return try read { db in
            let keys = recordKeys.map(Self.keyTexts).filter { $0.count == worksheet.key.count }
            var records: [String: (values: [String: SQLValue], matches: Bool)] = [:]
            if !keys.isEmpty {
                let columns = worksheet.key.map { "t." + Self.quote($0) }.joined(separator: ", ")
                let unnested = worksheet.key.indices.map { "$\($0 + 1)::text[]" }.joined(separator: ", ")
                let names = worksheet.key.indices.map { "v\($0)" }
                let casts = zip(worksheet.key, names).map { "\($1)::\(PostgresPageWriter.cast($0, in: worksheet))" }.joined(separator: ", ")
                let sql = Self.recordSelect(worksheet, condition: condition)
                    + " WHERE (\(columns)) IN (SELECT \(casts) FROM unnest(\(unnested)) AS k(\(names.joined(separator: ", "))))"
                let arrays = worksheet.key.indices.map { index in SQLValue.text(PostgresPageWriter.arrayLiteral(keys.map { $0[index] })) }
                for row in try db.rows(sql, arrays) {
                    if let key = row[0] { records[key] = Self.record(row, of: worksheet) }
                }
            }
            var hashes: [String: String] = [:]
            for row in try db.rows("SELECT record_key, payload_hash FROM _sheetsync_pushed WHERE job = $1 AND record_key = ANY($2::text[])",
                                   [.text(job), .text(PostgresPageWriter.arrayLiteral(recordKeys.map(SQLValue.text)))]) {
                if let key = row[0], let hash = row[1] { hashes[key] = hash }
            }
            return recordKeys.map { (records[$0], hashes[$0]) }
        }
    }

    // MARK: Attempts

    /// Claims with `FOR UPDATE SKIP LOCKED`: the deliveries not in flight on a live node
    /// (another node's claim in progress is skipped, not waited for), frozen and marked in
    /// flight with this node's id, in one transaction. Nodes sending the same job at once
    /// thus never send one delivery twice; one that dies leaves its claims to the others.
    @discardableResult
    public func beginAttempts(_ attempts: [DeliveryAttempt], skipped: [(id: Int64, reason: String)]) throws(StoreError) -> Set<Int64> {
        guard !attempts.isEmpty || !skipped.isEmpty else { return [] }
        return try write { db in
            let ids = attempts.map { SQLValue.integer($0.id) } + skipped.map { SQLValue.integer($0.id) }
            let claimable = Set(try db.rows("""
                SELECT id FROM _sheetsync_deliveries WHERE id = ANY($1::bigint[]) AND state = 'pending'
                    AND (in_flight = 0 OR claimed_by IS NULL OR claimed_by NOT IN (\(Self.liveNodes)))
                FOR UPDATE SKIP LOCKED
                """, [.text(PostgresPageWriter.arrayLiteral(ids))]).compactMap { $0[0].flatMap { Int64($0) } })
            for attempt in attempts where claimable.contains(attempt.id) {
                try db.execute("""
                    UPDATE _sheetsync_deliveries SET payload = coalesce(payload, $1),
                        payload_seals = CASE WHEN payload IS NULL THEN $2 ELSE payload_seals END,
                        request = CASE WHEN payload IS NULL THEN $3 ELSE request END,
                        request_seals = CASE WHEN payload IS NULL THEN $4 ELSE request_seals END,
                        payload_hash = coalesce(payload_hash, $5), operation = coalesce(operation, $6),
                        batch_id = coalesce(batch_id, $8), in_flight = 1, claimed_by = $9 WHERE id = $7::bigint
                    """, [.text(attempt.payload), attempt.seals.map(SQLValue.text) ?? .null, attempt.request.map(SQLValue.text) ?? .null,
                          attempt.requestSeals.map(SQLValue.text) ?? .null, .text(attempt.hash), .text(attempt.operation.rawValue),
                          .integer(attempt.id), attempt.batchID.map(SQLValue.text) ?? .null, .text(Self.nodeID)])
            }
            for (id, reason) in skipped where claimable.contains(id) {
                try db.execute("UPDATE _sheetsync_deliveries SET state = 'skipped', reason = $1 WHERE id = $2::bigint", [.text(reason), .integer(id)])
            }
            return claimable
        }
    }

    /// As SQLite's. A write-back's own changes are marked with the job through the
    /// transaction's `sheetsync.origin` setting, which the capture trigger reads: exact even
    /// while other clients write to the worksheet at the same time.
    public func finishAttempts(_ results: [DeliveryResult], requests: [RequestAttempt], run: Int64, worksheet: WorksheetDefinition,
                               state: [String: String?], job: String) throws(StoreError) {
        try write { db in
            try Self.recordRequests(requests, run: run, db)
            for result in results {
                switch result {
                case .delivered(let delivery, let status, let hash, let writeBack):
                    try db.execute("""
                        UPDATE _sheetsync_deliveries SET state = 'delivered', attempts = attempts + 1, in_flight = 0, last_status = $1::integer,
                            last_error = NULL, delivered_at = now() WHERE id = $2::bigint
                        """, [.integer(Int64(status)), .integer(delivery.id)])
                    try db.execute("""
                        INSERT INTO _sheetsync_pushed (job, record_key, payload_hash) VALUES ($1, $2, $3)
                        ON CONFLICT (job, record_key) DO UPDATE SET payload_hash = excluded.payload_hash, delivered_at = now()
                        """, [.text(delivery.job), .text(delivery.recordKey), .text(hash)])
                    if !writeBack.isEmpty { try Self.writeBack(writeBack, of: delivery, in: worksheet, db) }
                case .failed(let id, let status, let error, let nextAttempt?, _):
                    try db.execute("""
                        UPDATE _sheetsync_deliveries SET attempts = attempts + 1, in_flight = 0, last_status = $1::integer, last_error = $2,
                            next_attempt_at = $3::timestamptz WHERE id = $4::bigint
                        """, [status.map { .integer(Int64($0)) } ?? .null, .text(error), .text(nextAttempt), .integer(id)])
                case .failed(let id, let status, let error, nil, let reason):
                    try db.execute("""
                        UPDATE _sheetsync_deliveries SET state = 'failed', attempts = attempts + 1, in_flight = 0, last_status = $1::integer,
                            last_error = $2, reason = $3 WHERE id = $4::bigint
                        """, [status.map { .integer(Int64($0)) } ?? .null, .text(error), .text(reason), .integer(id)])
                case .notSent(let id):
                    try db.execute("UPDATE _sheetsync_deliveries SET in_flight = 0 WHERE id = $1::bigint", [.integer(id)])
                case .exhausted(let id, let error, let reason):
                    try db.execute("UPDATE _sheetsync_deliveries SET state = 'failed', in_flight = 0, last_error = $1, reason = $2 WHERE id = $3::bigint",
                                   [.text(error), .text(reason), .integer(id)])
                }
            }
            try Self.saveState(state, job: job, db)
        }
    }

    /// Writes the values the receiver answered into the record, marked as the job's own.
    static func writeBack(_ values: [String: SQLValue], of delivery: Delivery, in worksheet: WorksheetDefinition,
                          _ db: PostgresSession.Connection) throws {
        let names = values.keys.sorted()
        var bound: [SQLValue] = names.map { values[$0]! }
        let set = names.enumerated().map { "\(quote($0.element)) = $\($0.offset + 1)::\(PostgresPageWriter.cast($0.element, in: worksheet))" }
        let key = keyTexts(delivery.recordKey)
        guard key.count == worksheet.key.count else { return }
        let match = worksheet.key.enumerated().map { "\(quote($0.element)) = $\(bound.count + $0.offset + 1)::\(PostgresPageWriter.cast($0.element, in: worksheet))" }
        bound += key
        try db.execute("SELECT set_config('sheetsync.origin', $1, true)", [.text(delivery.job)])
        try db.execute("UPDATE \(quote(worksheet.name)) SET \(set.joined(separator: ", ")), \"_updated_at\" = now() WHERE \(match.joined(separator: " AND "))",
                       bound)
        try db.execute("SELECT set_config('sheetsync.origin', '', true)")
    }
}
