import Foundation
import GRDB
import SheetSyncCore

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
    @discardableResult
    public func beginAttempts(_ attempts: [DeliveryAttempt], skipped: [(id: Int64, reason: String)]) throws(StoreError) -> Set<Int64> {
        guard !attempts.isEmpty || !skipped.isEmpty else { return [] }
        try write { db in
            // Bound directly (`BoundStatement`): one statement per delivery, thousands per second.
            let begin = BoundStatement(try db.cachedStatement(sql: """
                UPDATE _sheetsync_deliveries SET payload = coalesce(payload, ?1),
                    payload_seals = CASE WHEN payload IS NULL THEN ?2 ELSE payload_seals END,
                    request = CASE WHEN payload IS NULL THEN ?3 ELSE request END,
                    request_seals = CASE WHEN payload IS NULL THEN ?4 ELSE request_seals END,
                    payload_hash = coalesce(payload_hash, ?5), operation = coalesce(operation, ?6),
                    batch_id = coalesce(batch_id, ?8), in_flight = 1 WHERE id = ?7
                """), db)
            for attempt in attempts {
                try begin.execute([.text(attempt.payload), .text(attempt.seals), .text(attempt.request), .text(attempt.requestSeals),
                                   .text(attempt.hash), .text(attempt.operation.rawValue), .integer(attempt.id), .text(attempt.batchID)])
            }
            let skip = BoundStatement(try db.cachedStatement(sql: "UPDATE _sheetsync_deliveries SET state = 'skipped', reason = ? WHERE id = ?"), db)
            for (id, reason) in skipped { try skip.execute([.text(reason), .integer(id)]) }
        }
        // One daemon per file: every attempt is this process's.
        return Set(attempts.map(\.id) + skipped.map(\.id))
    }

    /// Records how a batch of attempts ended, their requests, and (optionally) state
    /// of the job, in one transaction.
    public func finishAttempts(_ results: [DeliveryResult], requests: [RequestAttempt], run: Int64, worksheet: WorksheetDefinition,
                               state: [String: String?] = [:], job: String) throws(StoreError) {
        try write { db in
            try Self.recordRequests(requests, run: run, db)
            let delivered = BoundStatement(try db.cachedStatement(sql: "UPDATE _sheetsync_deliveries SET state = 'delivered', attempts = attempts + 1, in_flight = 0, last_status = ?, last_error = NULL, delivered_at = \(SQL.now) WHERE id = ?"), db)
            let pushed = BoundStatement(try db.cachedStatement(sql: """
                INSERT INTO _sheetsync_pushed (job, record_key, payload_hash) VALUES (?, ?, ?)
                ON CONFLICT (job, record_key) DO UPDATE SET payload_hash = excluded.payload_hash, delivered_at = \(SQL.now)
                """), db)
            let retry = try db.cachedStatement(sql: "UPDATE _sheetsync_deliveries SET attempts = attempts + 1, in_flight = 0, last_status = ?, last_error = ?, next_attempt_at = ? WHERE id = ?")
            let failed = try db.cachedStatement(sql: "UPDATE _sheetsync_deliveries SET state = 'failed', attempts = attempts + 1, in_flight = 0, last_status = ?, last_error = ?, reason = ? WHERE id = ?")
            let notSent = try db.cachedStatement(sql: "UPDATE _sheetsync_deliveries SET in_flight = 0 WHERE id = ?")
            for result in results {
                switch result {
                case .delivered(let delivery, let status, let hash, let writeBack):
                    try delivered.execute([.integer(status), .integer(delivery.id)])
                    try pushed.execute([.text(delivery.job), .text(delivery.recordKey), .text(hash)])
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
