import Foundation
import GRDB
import SheetSyncCore

/// One row of `_sheetsync_deliveries`.
public struct Delivery: Sendable, Equatable {
    public var id: Int64
    public var job: String
    public var worksheet: String
    /// JSON array of the record's key values.
    public var recordKey: String
    /// Sent as `Idempotency-Key` and `webhook-id`; the same on every attempt.
    public var changeID: String
    /// The first change captured for it (an unknown word written by another tool reads as `update`, never `delete`).
    public var firstOperation: PushJob.Operation
    /// What was sent, once frozen.
    public var operation: PushJob.Operation?
    public var state: DeliveryState
    public var attempts: Int
    public var nextAttemptAt: String
    public var payload: String?
    /// Where sheetsync sealed secrets in `payload` (`SealedText.sealsJSON`); nil when none.
    public var payloadSeals: String?
    /// The rendered request of the first attempt (`PreparedRequest.frozenText`), sealed.
    public var request: String?
    public var requestSeals: String?
    /// Deliveries sent in one request (`batch_size` > 1) share this id, sent as the
    /// request's `Idempotency-Key`; nil for a delivery sent alone under its change id.
    public var batchID: String?
    public var payloadHash: String?
    public var lastStatus: Int?
    public var lastError: String?
    public var reason: String?
    public var createdAt: String
    public var deliveredAt: String?

    /// The columns `init(row:)` reads, in order: select them by position (decoding by
    /// name lowercases each name per row, which showed in profiles).
    static let columns = ["id", "job", "worksheet", "record_key", "change_id", "first_operation", "operation", "state", "attempts",
                          "next_attempt_at", "payload", "payload_seals", "request", "request_seals", "batch_id", "payload_hash",
                          "last_status", "last_error", "reason", "created_at", "delivered_at"]
    static let selectColumns = columns.joined(separator: ", ")

    /// A row selected with `selectColumns` (in that order).
    init(row: Row) {
        id = row[0]
        job = row[1]
        worksheet = row[2]
        recordKey = row[3]
        changeID = row[4]
        firstOperation = PushJob.Operation(rawValue: row[5] ?? "") ?? .update
        operation = (row[6] as String?).map { PushJob.Operation(rawValue: $0) ?? .update }
        state = DeliveryState(rawValue: row[7] ?? "") ?? .failed
        attempts = row[8]
        nextAttemptAt = row[9]
        payload = row[10]
        payloadSeals = row[11]
        request = row[12]
        requestSeals = row[13]
        batchID = row[14]
        payloadHash = row[15]
        lastStatus = row[16]
        lastError = row[17]
        reason = row[18]
        createdAt = row[19]
        deliveredAt = row[20]
    }

    /// The key values, decoded.
    public var keyValues: [SQLValue] { Self.keyValues(recordKey) }

    /// A change id that is unique forever: 122 random bits, never derived from a counter
    /// (the outbox sequence starts again in a new database file and goes back in a
    /// restored one, and receivers drop a change whose id they have already seen).
    public static func newChangeID() -> String { randomID(prefix: "chg_") }

    /// A batch id, unique forever in the same way (`bat_` and 32 hex digits).
    public static func newBatchID() -> String { randomID(prefix: "bat_") }

    /// `prefix` and a random (version 4) UUID's 32 lowercase hex digits.
    static func randomID(prefix: String) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var bytes = Array(prefix.utf8)
        bytes.reserveCapacity(prefix.utf8.count + 32)
        withUnsafeBytes(of: UUID().uuid) { raw in
            for byte in raw {
                bytes.append(digits[Int(byte >> 4)])
                bytes.append(digits[Int(byte & 0x0F)])
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Decodes a record key as the capture triggers write it (`json_array(…)`).
    public static func keyValues(_ recordKey: String) -> [SQLValue] {
        guard case .array(let items)? = try? JSONReader.parse(recordKey) else { return [] }
        return items.map { item in
            switch item {
            case .number(let n): Int64(n).map(SQLValue.integer) ?? Double(n).map(SQLValue.real) ?? .text(n)
            case .string(let s): .text(s)
            case .bool(let b): .integer(b ? 1 : 0)
            default: .null
            }
        }
    }
}

extension WorksheetDatabase {
    /// Turns new outbox rows of `worksheet` into deliveries of `job`, a chunk of
    /// `chunk` rows per transaction with the job's outbox position, so memory stays
    /// bounded however many changes wait.
    ///
    /// A record that already has a delivery not yet attempted is coalesced into it
    /// (it will be sent once, in its latest state). A record whose pending delivery is
    /// already being retried gets a new delivery queued after it: retries must send the
    /// same bytes under the same id, and deliveries of one record go in order. Changes
    /// the job's own write-back made are not queued again for it.
    /// Returns how many new deliveries were queued.
    @discardableResult
    public func ingestChanges(job: String, worksheet: String, chunk: Int = 5_000) throws(StoreError) -> Int {
        var queued = 0
        while true {
            let (count, more) = try ingestChunk(job: job, worksheet: worksheet, limit: max(1, chunk))
            queued += count
            if !more { return queued }
        }
    }

    private func ingestChunk(job: String, worksheet: String, limit: Int) throws(StoreError) -> (queued: Int, more: Bool) {
        try write { db in
            let stateKey = StateKey.outboxPosition
            let last = try Int64.fetchOne(db, sql: "SELECT CAST(value AS INTEGER) FROM _sheetsync_state WHERE job = ? AND name = ?", arguments: [job, stateKey]) ?? 0
            let rows = try Row.fetchAll(db, sql: "SELECT seq, record_key, operation, origin FROM _sheetsync_outbox WHERE worksheet = ? AND seq > ? ORDER BY seq LIMIT ?",
                                        arguments: [worksheet, last, limit])
            guard let newest = rows.last?["seq"] as Int64? else { return (0, false) }
            var queued = 0
            // Prepared once for the whole chunk: compiling them per outbox row showed in profiles.
            let findOpen = try db.cachedStatement(sql: """
                SELECT id FROM _sheetsync_deliveries
                WHERE job = ? AND record_key = ? AND state = 'pending' AND attempts = 0 AND payload IS NULL
                ORDER BY id DESC LIMIT 1
                """)
            let coalesce = try db.cachedStatement(sql: "UPDATE _sheetsync_deliveries SET outbox_seq = ? WHERE id = ?")
            let queue = try db.cachedStatement(sql: """
                INSERT INTO _sheetsync_deliveries (job, worksheet, record_key, change_id, first_operation, outbox_seq)
                VALUES (?, ?, ?, ?, ?, ?)
                """)
            for row in rows where (row["origin"] as String?) != job {
                let key: String = row["record_key"]
                let seq: Int64 = row["seq"]
                if let open = try Int64.fetchOne(findOpen, arguments: [job, key]) {
                    try coalesce.execute(arguments: [seq, open])
                } else {
                    try queue.execute(arguments: [job, worksheet, key, Delivery.newChangeID(), row["operation"] as String, seq])
                    queued += 1
                }
            }
            try Self.saveState([stateKey: String(newest)], job: job, db)
            return (queued, rows.count == limit)
        }
    }

    /// Registers push jobs that have no outbox position yet at the newest change of their
    /// worksheet: a new push job sends the changes captured after sheetsync first saw
    /// it, not older ones (captured for other jobs); `replay --since` sends older
    /// deliveries on purpose.
    static func registerPushJobs(_ jobs: [String: String], _ db: Database) throws {
        for (job, worksheet) in jobs.sorted(by: { $0.key < $1.key }) {
            try db.execute(sql: """
                INSERT INTO _sheetsync_state (job, name, value)
                SELECT ?1, ?2, CAST(coalesce((SELECT max(seq) FROM _sheetsync_outbox WHERE worksheet = ?3), 0) AS TEXT)
                WHERE NOT EXISTS (SELECT 1 FROM _sheetsync_state WHERE job = ?1 AND name = ?2)
                """, arguments: [job, StateKey.outboxPosition, worksheet])
        }
    }

    /// Changes of `worksheet` not yet delivered: pending deliveries per job, and outbox
    /// rows some reading job has not taken in yet. A key change must not strand them.
    static func undelivered(worksheet: String, jobs: [String], _ db: Database) throws -> [(job: String, count: Int)] {
        var found: [(job: String, count: Int)] = try Row.fetchAll(db, sql: """
            SELECT job, count(*) AS n FROM _sheetsync_deliveries WHERE worksheet = ? AND state = 'pending' GROUP BY job ORDER BY job
            """, arguments: [worksheet]).map { ($0["job"], $0["n"]) }
        for job in jobs {
            let position = try Int64.fetchOne(db, sql: "SELECT CAST(value AS INTEGER) FROM _sheetsync_state WHERE job = ? AND name = ?",
                                              arguments: [job, StateKey.outboxPosition]) ?? 0
            let waiting = try Int.fetchOne(db, sql: "SELECT count(*) FROM _sheetsync_outbox WHERE worksheet = ? AND seq > ? AND (origin IS NULL OR origin <> ?)",
                                           arguments: [worksheet, position, job]) ?? 0
            guard waiting > 0 else { continue }
            if let index = found.firstIndex(where: { $0.job == job }) { found[index].count += waiting } else { found.append((job, waiting)) }
        }
        return found
    }

    /// Marks every pending delivery of `job` skipped, after taking in the outbox: the
    /// user's way to give up on changes on purpose (`sheetsync push JOB --drop-pending`).
    /// Returns how many were dropped.
    public func dropPending(job: String, worksheet: String) throws(StoreError) -> Int {
        try ingestChanges(job: job, worksheet: worksheet)
        return try write { db in
            try db.execute(sql: """
                UPDATE _sheetsync_deliveries SET state = 'skipped', reason = 'dropped with sheetsync push --drop-pending'
                WHERE job = ? AND state = 'pending'
                """, arguments: [job])
            return db.changesCount
        }
    }

    /// Deliveries of `job` left in flight by a process that stopped mid-send, grouped into
    /// what went out together (a batch, or one delivery).
    public func interruptedUnits(job: String) throws(StoreError) -> [[Delivery]] {
        let cut = try read { db in
            try Row.fetchAll(db, sql: "SELECT \(Delivery.selectColumns) FROM _sheetsync_deliveries WHERE job = ? AND state = 'pending' AND in_flight = 1 ORDER BY id",
                             arguments: [job]).map(Delivery.init)
        }
        var units: [[Delivery]] = []
        var batchIndex: [String: Int] = [:]
        for delivery in cut {
            if let id = delivery.batchID, let index = batchIndex[id] {
                units[index].append(delivery)
            } else {
                if let id = delivery.batchID { batchIndex[id] = units.count }
                units.append([delivery])
            }
        }
        return units
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
            try Row.fetchAll(db, sql: "SELECT \(Delivery.selectColumns) FROM _sheetsync_deliveries WHERE batch_id = ? AND state = 'pending' ORDER BY id",
                             arguments: [batchID]).map(Delivery.init)
        }
    }

    /// Deliveries of `job` due by `now`: for each record only its oldest pending one,
    /// so deliveries of one record go in order.
    public func dueDeliveries(job: String, now: String, limit: Int) throws(StoreError) -> [Delivery] {
        try read { db in
            try Row.fetchAll(db, sql: """
                SELECT \(Delivery.columns.map { "d." + $0 }.joined(separator: ", ")) FROM _sheetsync_deliveries d
                WHERE d.job = ? AND d.state = 'pending' AND d.next_attempt_at <= ?
                  AND d.id = (SELECT min(id) FROM _sheetsync_deliveries o WHERE o.job = d.job AND o.record_key = d.record_key AND o.state = 'pending')
                ORDER BY d.id LIMIT ?
                """, arguments: [job, now, limit]).map(Delivery.init)
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
            var arguments: [DatabaseValueConvertible] = []
            if let job { conditions.append("job = ?"); arguments.append(job) }
            if let state { conditions.append("state = ?"); arguments.append(state.rawValue) }
            let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
            arguments.append(limit)
            return try Row.fetchAll(db, sql: "SELECT \(Delivery.selectColumns) FROM _sheetsync_deliveries \(filter) ORDER BY id DESC LIMIT ?",
                                    arguments: StatementArguments(arguments)).map(Delivery.init)
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

/// What a push pass sends for one delivery, frozen before the request goes out.
public struct DeliveryAttempt: Sendable {
    public var id: Int64
    /// The body with its secrets sealed.
    public var payload: String
    /// Where the seals are (`SealedText.sealsJSON`).
    public var seals: String?
    /// Method, URL and headers (`PreparedRequest.frozenText`), sealed, and where.
    public var request: String?
    public var requestSeals: String?
    public var hash: String
    public var operation: PushJob.Operation
    /// The batch it goes out in, when the job sends batches.
    public var batchID: String?

    public init(id: Int64, payload: String, seals: String? = nil, request: String? = nil, requestSeals: String? = nil,
                hash: String, operation: PushJob.Operation, batchID: String? = nil) {
        self.id = id
        self.batchID = batchID
        self.payload = payload
        self.seals = seals
        self.request = request
        self.requestSeals = requestSeals
        self.hash = hash
        self.operation = operation
    }
}

/// How one delivery attempt ended, to be recorded after the requests of its batch.
public enum DeliveryResult: Sendable {
    case delivered(Delivery, status: Int, hash: String, writeBack: [String: SQLValue])
    /// Retried at `nextAttempt`, or failed for good when that is nil, for `reason`.
    case failed(id: Int64, status: Int?, error: String, nextAttempt: String?, reason: String = "attempts exhausted")
    /// Failed for good without a request: every attempt was already made (`reason` says so).
    case exhausted(id: Int64, error: String, reason: String)
    /// Frozen but not sent (the chunk stopped after a 410, or shutdown cut the request): no attempt.
    case notSent(id: Int64)
}

extension WorksheetDatabase {
    /// For each key: the record's current row and whether `condition` holds (nil when
    /// the record is gone), and the hash of its last acknowledged payload. One read
    /// transaction for a whole batch of deliveries.
    public func pushInputs(job: String, worksheet: WorksheetDefinition, recordKeys: [String], condition: String?) throws(StoreError)
        -> [(record: (values: [String: SQLValue], matches: Bool)?, pushedHash: String?)] {
        try read { db in
            let match = worksheet.key.enumerated().map { "\(SQL.quote($0.element)) IS ?\($0.offset + 1)" }.joined(separator: " AND ")
            let columns = worksheet.fields.map { SQL.quote($0.name) }.joined(separator: ", ")
            let test = condition.map { "(\($0))" } ?? "1"
            let select = BoundStatement(try db.cachedStatement(sql: "SELECT \(columns), (\(test)) FROM \(SQL.quote(worksheet.name)) WHERE \(match)"), db)
            let hashes = BoundStatement(try db.cachedStatement(sql: "SELECT payload_hash FROM _sheetsync_pushed WHERE job = ?1 AND record_key = ?2"), db)
            hashes.bind(job, at: 1)
            let fieldCount = Int32(worksheet.fields.count)
            return try recordKeys.map { recordKey in
                for (position, value) in Delivery.keyValues(recordKey).enumerated() { select.bind(value, at: Int32(position + 1)) }
                var record: (values: [String: SQLValue], matches: Bool)?
                try select.forEachRow { row in
                    var values: [String: SQLValue] = [:]
                    for (index, field) in worksheet.fields.enumerated() { values[field.name] = row.column(Int32(index)) }
                    let matches: Bool
                    if case .integer(let flag) = row.column(fieldCount) { matches = flag != 0 } else { matches = false }
                    record = (values, matches)
                }
                hashes.bind(recordKey, at: 2)
                var hash: String?
                try hashes.forEachRow { row in if case .text(let text) = row.column(0) { hash = text } }
                return (record, hash)
            }
        }
    }

    /// Freezes what each delivery sends, marks it in flight, and marks skipped ones, in one
    /// transaction before anything is sent: a crash after this re-sends the same bytes
    /// under the same ids. The attempt is counted with its outcome (`finishAttempts`); a
    /// delivery still in flight at the next pass was cut by a crash (`interruptedUnits`).
    public func beginAttempts(_ attempts: [DeliveryAttempt], skipped: [(id: Int64, reason: String)]) throws(StoreError) {
        guard !attempts.isEmpty || !skipped.isEmpty else { return }
        try write { db in
            let begin = try db.cachedStatement(sql: """
                UPDATE _sheetsync_deliveries SET payload = coalesce(payload, ?1),
                    payload_seals = CASE WHEN payload IS NULL THEN ?2 ELSE payload_seals END,
                    request = CASE WHEN payload IS NULL THEN ?3 ELSE request END,
                    request_seals = CASE WHEN payload IS NULL THEN ?4 ELSE request_seals END,
                    payload_hash = coalesce(payload_hash, ?5), operation = coalesce(operation, ?6),
                    batch_id = coalesce(batch_id, ?8), in_flight = 1 WHERE id = ?7
                """)
            for attempt in attempts {
                try begin.execute(arguments: [attempt.payload, attempt.seals, attempt.request, attempt.requestSeals,
                                              attempt.hash, attempt.operation.rawValue, attempt.id, attempt.batchID])
            }
            let skip = try db.cachedStatement(sql: "UPDATE _sheetsync_deliveries SET state = 'skipped', reason = ? WHERE id = ?")
            for (id, reason) in skipped { try skip.execute(arguments: [reason, id]) }
        }
    }

    /// Records how a batch of attempts ended, their requests, and (optionally) state
    /// of the job, in one transaction.
    public func finishAttempts(_ results: [DeliveryResult], requests: [RequestAttempt], run: Int64, worksheet: WorksheetDefinition,
                               state: [String: String?] = [:], job: String) throws(StoreError) {
        try write { db in
            try Self.recordRequests(requests, run: run, db)
            let delivered = try db.cachedStatement(sql: "UPDATE _sheetsync_deliveries SET state = 'delivered', attempts = attempts + 1, in_flight = 0, last_status = ?, last_error = NULL, delivered_at = \(SQL.now) WHERE id = ?")
            let pushed = try db.cachedStatement(sql: """
                INSERT INTO _sheetsync_pushed (job, record_key, payload_hash) VALUES (?, ?, ?)
                ON CONFLICT (job, record_key) DO UPDATE SET payload_hash = excluded.payload_hash, delivered_at = \(SQL.now)
                """)
            let retry = try db.cachedStatement(sql: "UPDATE _sheetsync_deliveries SET attempts = attempts + 1, in_flight = 0, last_status = ?, last_error = ?, next_attempt_at = ? WHERE id = ?")
            let failed = try db.cachedStatement(sql: "UPDATE _sheetsync_deliveries SET state = 'failed', attempts = attempts + 1, in_flight = 0, last_status = ?, last_error = ?, reason = ? WHERE id = ?")
            let notSent = try db.cachedStatement(sql: "UPDATE _sheetsync_deliveries SET in_flight = 0 WHERE id = ?")
            for result in results {
                switch result {
                case .delivered(let delivery, let status, let hash, let writeBack):
                    try delivered.execute(arguments: [status, delivery.id])
                    try pushed.execute(arguments: [delivery.job, delivery.recordKey, hash])
                    if !writeBack.isEmpty {
                        // The outbox rows this write causes are the job's own: it does not queue them.
                        let before = try Int64.fetchOne(db, sql: "SELECT coalesce(max(seq), 0) FROM _sheetsync_outbox") ?? 0
                        let names = writeBack.keys.sorted()
                        let set = names.map { "\(SQL.quote($0)) = ?" }.joined(separator: ", ")
                        let match = worksheet.key.map { "\(SQL.quote($0)) IS ?" }.joined(separator: " AND ")
                        try db.execute(sql: "UPDATE \(SQL.quote(worksheet.name)) SET \(set), \"_updated_at\" = \(SQL.now) WHERE \(match)",
                                       arguments: StatementArguments(names.map { writeBack[$0]!.databaseValue } + delivery.keyValues.map(\.databaseValue)))
                        try db.execute(sql: "UPDATE _sheetsync_outbox SET origin = ? WHERE seq > ?", arguments: [delivery.job, before])
                    }
                case .failed(let id, let status, let error, let nextAttempt?, _):
                    try retry.execute(arguments: [status, error, nextAttempt, id])
                case .failed(let id, let status, let error, nil, let reason):
                    try failed.execute(arguments: [status, error, reason, id])
                case .notSent(let id):
                    try notSent.execute(arguments: [id])
                case .exhausted(let id, let error, let reason):
                    try db.execute(sql: "UPDATE _sheetsync_deliveries SET state = 'failed', in_flight = 0, last_error = ?, reason = ? WHERE id = ?",
                                   arguments: [error, reason, id])
                }
            }
            try Self.saveState(state, job: job, db)
        }
    }
}
