import Foundation
import Logging
import NIOConcurrencyHelpers
import SheetSyncCore
import SheetSyncStore

/// Worksheets and sheetsync's own tables on a PostgreSQL server (issue 19).
///
/// Pull and push jobs, backfills, the run history, state, failure notifications and
/// `query` work here as on SQLite (push: `+Capture`, `+Deliveries`), and several daemons
/// share one database (`+Nodes`); `skip_unchanged` skips unchanged records by digest
/// (`+Digests`).
///
/// Types: `decimal` → `numeric`, `datetime` → `timestamptz`, `date` → `date`, `json` →
/// `jsonb`, `boolean` → `boolean`, `integer` → `bigint`, `number` → `double precision`,
/// `text` → `text`. Values are converted by the core as for SQLite and sent as text;
/// each column's cast makes them the column's type.
public final class PostgresStore: WorksheetStore, @unchecked Sendable {
    public let location: String
    /// The connections for the store's statements (`PostgresPool`).
    let session: PostgresPool
    /// Where to connect again, for the daemon's connections of their own (`+Nodes`).
    let server: (location: PostgresLocation, password: String?)
    /// The daemon's connection for fire claims and job locks (session advisory locks live
    /// on one connection), opened on first use.
    let coordination = NIOLockedValueBox<PostgresSession?>(nil)
    /// The heartbeat's connection, opened on first use: a node's liveness must not wait
    /// behind its own claims, pages or deliveries.
    let beating = NIOLockedValueBox<PostgresSession?>(nil)
    /// The locks this process holds (`tryLock`), each with the server process id of the
    /// coordination connection that took it: a lock lives as long as that server process.
    let heldLocks = NIOLockedValueBox<[String: String]>([:])
    /// Runs begun while their job's lock (`WorkLock.pull`) was held, with that lock: each
    /// of their pages commits only while it is still held (`+Pages`).
    let fences = NIOLockedValueBox<[Int64: (lock: String, holder: String)]>([:])

    /// Connections for statements at most: a daemon's runs (`--max-concurrent`, 4 by
    /// default), a push pass and the bookkeeping beside them.
    public static let connectionLimit = 6

    /// Connects and brings sheetsync's own tables up to date.
    public init(_ location: PostgresLocation, password: String?) throws(StoreError) {
        self.location = location.display
        server = (location, password)
        session = try PostgresPool(location, password: password, limit: Self.connectionLimit)
        do {
            try session.transaction { db in try PostgresMigrations.run(db) }
        } catch {
            session.close()
            throw Self.storeError(error)
        }
        // As every process that opens an SQLite database does: runs whose process is gone
        // are marked interrupted (this host's processes only).
        try markInterruptedRuns()
        try forgetGoneNodes()
    }

    public func close() throws(StoreError) {
        coordination.withLockedValue { $0?.close() }
        beating.withLockedValue { $0?.close() }
        session.close()
    }

    static func storeError(_ error: any Error) -> StoreError {
        if let error = error as? StoreError { return error }
        return StoreError(.sqlError, PostgresSession.describe(error), underlying: error)
    }

    /// A transaction whose errors are `StoreError`s.
    func write<T>(_ body: (PostgresSession.Connection) throws -> T) throws(StoreError) -> T {
        do {
            return try session.transaction(body)
        } catch {
            throw Self.storeError(error)
        }
    }

    func read<T>(_ body: (PostgresSession.Connection) throws -> T) throws(StoreError) -> T {
        try session.withConnection(body)
    }


    // MARK: Runs

    public func beginRun(job: String, trigger: RunTrigger) throws(StoreError) -> Int64 {
        let run = try write { db in
            let id = try db.firstValue("""
                INSERT INTO _sheetsync_runs (job, trigger, started_at, status, owner_pid, owner)
                VALUES ($1, $2, clock_timestamp(), 'running', $3::integer, $4) RETURNING id
                """, [.text(job), .text(trigger.rawValue), .integer(Int64(RunOwner.current.pid)), .text(RunOwner.current.token)])
            return Int64(id ?? "") ?? 0
        }
        if let holder = heldLocks.withLockedValue({ $0[WorkLock.pull(job)] }) {
            fences.withLockedValue { $0[run] = (WorkLock.pull(job), holder) }
        }
        return run
    }

    public func finishRun(_ id: Int64, status: RunStatus, counts: WriteCounts, requests: Int,
                          errorCode: String?, errorMessage: String?, details: JSONValue?) throws(StoreError) {
        _ = fences.withLockedValue { $0.removeValue(forKey: id) }
        try write { db in
            try db.execute("""
                UPDATE _sheetsync_runs SET ended_at = clock_timestamp(), status = $1, requests = $2::integer, inserted = $3::integer,
                    updated = $4::integer, unchanged = $5::integer, skipped = $6::integer, rejected = $7::integer, deleted = $8::integer,
                    details = $9, error_code = $10, error_message = $11
                WHERE id = $12::bigint
                """, [.text(status.rawValue), .integer(Int64(requests)), .integer(Int64(counts.inserted)), .integer(Int64(counts.updated)),
                      .integer(Int64(counts.unchanged)), .integer(Int64(counts.skipped)), .integer(Int64(counts.rejectedTotal)),
                      .integer(Int64(counts.deletedTotal)), .text((details ?? counts.json).jsonText),
                      errorCode.map(SQLValue.text) ?? .null, errorMessage.map(SQLValue.text) ?? .null, .integer(id)])
        }
    }

    public func recordRequests(_ entries: [RequestAttempt], run: Int64) throws(StoreError) {
        guard !entries.isEmpty else { return }
        try write { db in try Self.recordRequests(entries, run: run, db) }
    }

    static func recordRequests(_ entries: [RequestAttempt], run: Int64, _ db: PostgresSession.Connection) throws {
        for entry in entries {
            try db.execute("""
                INSERT INTO _sheetsync_requests (run_id, method, url, status, duration_ms, bytes, attempt, error, sent_at)
                VALUES ($1::bigint, $2, $3, $4::integer, $5::integer, $6::bigint, $7::integer, $8, clock_timestamp())
                """, [.integer(run), .text(entry.method), .text(entry.url), entry.status.map { .integer(Int64($0)) } ?? .null,
                      .integer(Int64(entry.durationMilliseconds)), .integer(Int64(entry.bytes)),
                      .integer(Int64(entry.attempt)), entry.error.map(SQLValue.text) ?? .null])
        }
    }

    public func runs(job: String?, limit: Int) throws(StoreError) -> [RunRecord] {
        try read { db in
            let rows = try db.rows("""
                SELECT id, job, trigger, started_at, ended_at, status, requests, inserted, updated, unchanged, skipped, rejected, deleted,
                    error_code, error_message
                FROM _sheetsync_runs WHERE ($1::text IS NULL OR job = $1) ORDER BY id DESC LIMIT $2::integer
                """, [job.map(SQLValue.text) ?? .null, .integer(Int64(max(0, limit)))])
            return rows.map { row in
                func number(_ index: Int) -> Int { Int(row[index] ?? "") ?? 0 }
                return RunRecord(id: Int64(row[0] ?? "") ?? 0, job: row[1] ?? "", trigger: row[2] ?? "", startedAt: row[3] ?? "",
                                 endedAt: row[4], status: row[5] ?? "", requests: number(6), inserted: number(7), updated: number(8),
                                 unchanged: number(9), skipped: number(10), rejected: number(11), deleted: number(12),
                                 errorCode: row[13], errorMessage: row[14])
            }
        }
    }

    @discardableResult
    public func markInterruptedRuns() throws(StoreError) -> Int {
        try write { db in
            var marked = 0
            for row in try db.rows("SELECT id, owner_pid, owner FROM _sheetsync_runs WHERE status = 'running'") {
                guard let id = row[0].flatMap({ Int64($0) }), let pid = row[1].flatMap({ Int32($0) }), let token = row[2] else { continue }
                // Another host's run is not judged here (several nodes: issue 19's leases).
                guard RunOwner(pid: pid, token: token).liveness == .gone else { continue }
                marked += try db.changes("""
                    UPDATE _sheetsync_runs SET status = 'interrupted', ended_at = clock_timestamp(), error_code = 'interrupted',
                        error_message = 'the process that ran it (pid ' || $1 || ') ended before the run did (killed, crashed or the machine restarted); noticed at ' || to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') || ' by pid ' || $2 || '. A paginated run resumes at its first page not written'
                    WHERE id = $3::bigint AND status = 'running'
                    """, [.text(String(pid)), .text(String(RunOwner.current.pid)), .integer(id)])
            }
            return marked
        }
    }

    // MARK: State

    public func state(job: String) throws(StoreError) -> [String: String] {
        try read { db in
            var result: [String: String] = [:]
            for row in try db.rows("SELECT name, value FROM _sheetsync_state WHERE job = $1", [.text(job)]) {
                if let name = row[0], let value = row[1] { result[name] = value }
            }
            return result
        }
    }

    public func saveState(_ state: [String: String?], job: String) throws(StoreError) {
        try write { db in try Self.saveState(state, job: job, db) }
    }

    static func saveState(_ state: [String: String?], job: String, _ db: PostgresSession.Connection) throws {
        for (name, value) in state.sorted(by: { $0.key < $1.key }) {
            guard let value else {
                try db.execute("DELETE FROM _sheetsync_state WHERE job = $1 AND name = $2", [.text(job), .text(name)])
                continue
            }
            try db.execute("""
                INSERT INTO _sheetsync_state (job, name, value) VALUES ($1, $2, $3)
                ON CONFLICT (job, name) DO UPDATE SET value = excluded.value, updated_at = now()
                """, [.text(job), .text(name), .text(value)])
        }
    }

    public func resetState(job: String) throws(StoreError) {
        try write { db in try db.execute("DELETE FROM _sheetsync_state WHERE job = $1", [.text(job)]) }
    }

    public func testValues(job: String) throws(StoreError) -> [String: String] {
        try read { db in
            var result: [String: String] = [:]
            for row in try db.rows("SELECT name, value FROM _sheetsync_test_values WHERE job = $1", [.text(job)]) {
                if let name = row[0], let value = row[1] { result[name] = value }
            }
            return result
        }
    }

    public func saveTestValues(_ values: [String: String], job: String) throws(StoreError) {
        try write { db in
            for (name, value) in values.sorted(by: { $0.key < $1.key }) {
                try db.execute("""
                    INSERT INTO _sheetsync_test_values (job, name, value) VALUES ($1, $2, $3)
                    ON CONFLICT (job, name) DO UPDATE SET value = excluded.value, used_at = now()
                    """, [.text(job), .text(name), .text(value)])
            }
        }
    }

    // MARK: Backfills

    public func startBackfill(job: String, from: String, to: String, step: String, timezone: String,
                              params: String, windows: [BackfillWindow], restart: Bool) throws(StoreError) -> BackfillProgress {
        try write { db in
            if !restart, let id = try db.firstValue("""
                SELECT id FROM _sheetsync_backfills
                WHERE job = $1 AND range_from = $2 AND range_to = $3 AND step = $4 AND timezone = $5 AND params = $6
                ORDER BY id DESC LIMIT 1
                """, [.text(job), .text(from), .text(to), .text(step), .text(timezone), .text(params)]).flatMap({ Int64($0) }) {
                let rows = try db.rows("SELECT position, window_start, window_end, status FROM _sheetsync_backfill_windows WHERE backfill_id = $1::bigint ORDER BY position",
                                       [.integer(id)])
                let list = rows.compactMap { row -> (Int, BackfillWindow, Bool)? in
                    guard let position = row[0].flatMap({ Int($0) }), let start = row[1].flatMap(UTCDateTime.init(iso:)),
                          let end = row[2].flatMap(UTCDateTime.init(iso:)) else { return nil }
                    return (position, BackfillWindow(start: start, end: end), row[3] == "done")
                }
                return BackfillProgress(id: id, windows: list, resumed: true)
            }
            if restart {
                try db.execute("UPDATE _sheetsync_backfills SET finished_at = now() WHERE job = $1 AND finished_at IS NULL", [.text(job)])
            }
            let id = Int64(try db.firstValue("""
                INSERT INTO _sheetsync_backfills (job, range_from, range_to, step, timezone, params) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id
                """, [.text(job), .text(from), .text(to), .text(step), .text(timezone), .text(params)]) ?? "") ?? 0
            for (position, window) in windows.enumerated() {
                try db.execute("INSERT INTO _sheetsync_backfill_windows (backfill_id, position, window_start, window_end) VALUES ($1::bigint, $2::integer, $3, $4)",
                               [.integer(id), .integer(Int64(position)), .text(window.start.description), .text(window.end.description)])
            }
            return BackfillProgress(id: id, windows: windows.enumerated().map { ($0.offset, $0.element, false) }, resumed: false)
        }
    }

    public func finishWindow(backfill: Int64, position: Int, succeeded: Bool, run: Int64?, rows: Int) throws(StoreError) {
        try write { db in
            try db.execute("""
                UPDATE _sheetsync_backfill_windows SET status = $1, run_id = $2::bigint, rows = $3::integer, finished_at = now()
                WHERE backfill_id = $4::bigint AND position = $5::integer
                """, [.text(succeeded ? "done" : "failed"), run.map(SQLValue.integer) ?? .null, .integer(Int64(rows)),
                      .integer(backfill), .integer(Int64(position))])
        }
    }

    @discardableResult
    public func finishBackfillIfComplete(_ id: Int64) throws(StoreError) -> Bool {
        try write { db in
            let open = Int(try db.firstValue("SELECT count(*) FROM _sheetsync_backfill_windows WHERE backfill_id = $1::bigint AND status <> 'done'",
                                             [.integer(id)]) ?? "") ?? 1
            guard open == 0 else { return false }
            try db.execute("UPDATE _sheetsync_backfills SET finished_at = coalesce(finished_at, now()) WHERE id = $1::bigint", [.integer(id)])
            return true
        }
    }

    // MARK: Failure notifications

    public func failuresInARow(job: String, upTo run: Int64) throws(StoreError) -> Int {
        try read { db in
            Int(try db.firstValue("""
                SELECT count(*) FROM _sheetsync_runs WHERE job = $1 AND status = 'failed' AND id <= $2::bigint
                AND id > coalesce((SELECT max(id) FROM _sheetsync_runs WHERE job = $1 AND id <= $2::bigint AND status IN ('succeeded', 'partial')), 0)
                """, [.text(job), .integer(run)]) ?? "") ?? 0
        }
    }

    public func queueNotification(job: String, event: String, run: Int64?, payload: String) throws(StoreError) {
        try write { db in
            try db.execute("INSERT INTO _sheetsync_notifications (notification_id, job, event, run_id, payload) VALUES ($1, $2, $3, $4::bigint, $5)",
                           [.text(Delivery.randomID(prefix: "ntf_")), .text(job), .text(event), run.map(SQLValue.integer) ?? .null, .text(payload)])
        }
    }

    static let notificationColumns = "id, notification_id, job, event, run_id, payload, state, attempts, last_error"

    static func notification(_ row: [String?]) -> NotificationRecord {
        NotificationRecord(id: Int64(row[0] ?? "") ?? 0, notificationID: row[1] ?? "", job: row[2] ?? "", event: row[3] ?? "",
                           run: row[4].flatMap { Int64($0) }, payload: row[5] ?? "", state: row[6] ?? "",
                           attempts: Int(row[7] ?? "") ?? 0, lastError: row[8])
    }

    public func dueNotifications(now: String, limit: Int) throws(StoreError) -> [NotificationRecord] {
        try read { db in
            try db.rows("""
                SELECT \(Self.notificationColumns) FROM _sheetsync_notifications
                WHERE state = 'pending' AND next_attempt_at <= $1::timestamptz ORDER BY id LIMIT $2::integer
                """, [.text(now), .integer(Int64(max(0, limit)))]).map(Self.notification)
        }
    }

    public func notifications(job: String?, limit: Int) throws(StoreError) -> [NotificationRecord] {
        try read { db in
            try db.rows("""
                SELECT \(Self.notificationColumns) FROM _sheetsync_notifications
                WHERE ($1::text IS NULL OR job = $1) ORDER BY id DESC LIMIT $2::integer
                """, [job.map(SQLValue.text) ?? .null, .integer(Int64(max(0, limit)))]).map(Self.notification)
        }
    }

    public func claimNotification(_ id: Int64, now: String, until: String) throws(StoreError) -> Bool {
        try write { db in
            try db.changes("""
                UPDATE _sheetsync_notifications SET next_attempt_at = $1::timestamptz
                WHERE id = $2::bigint AND state = 'pending' AND next_attempt_at <= $3::timestamptz
                """, [.text(until), .integer(id), .text(now)]) == 1
        }
    }

    public func finishNotification(_ id: Int64, delivered: Bool, status: Int?, error: String?, nextAttempt: String?) throws(StoreError) {
        let code = status.map { SQLValue.integer(Int64($0)) } ?? .null
        try write { db in
            if delivered {
                try db.execute("""
                    UPDATE _sheetsync_notifications SET state = 'delivered', attempts = attempts + 1, last_status = $1::integer,
                        last_error = NULL, delivered_at = now() WHERE id = $2::bigint
                    """, [code, .integer(id)])
            } else if let nextAttempt {
                try db.execute("""
                    UPDATE _sheetsync_notifications SET attempts = attempts + 1, last_status = $1::integer, last_error = $2,
                        next_attempt_at = $3::timestamptz WHERE id = $4::bigint
                    """, [code, error.map(SQLValue.text) ?? .null, .text(nextAttempt), .integer(id)])
            } else {
                try db.execute("""
                    UPDATE _sheetsync_notifications SET state = 'failed', attempts = attempts + 1, last_status = $1::integer,
                        last_error = $2 WHERE id = $3::bigint
                    """, [code, error.map(SQLValue.text) ?? .null, .integer(id)])
            }
        }
    }

    // MARK: Query

    /// One statement of the user's SQL. Without `allowWrite` it runs in a `READ ONLY`
    /// transaction, so the server refuses any write; one statement only (the extended
    /// protocol takes no more), so none can end that transaction and go on writing.
    public func query(sql: String, allowWrite: Bool) throws(StoreError) -> QueryResult {
        do {
            return try session.transaction(readOnly: !allowWrite) { db in
                let result = try db.connection.query(PostgresSession.Connection.query(sql, []), logger: db.logger).wait()
                let columns = result.rows.first.map { row in row.map(\.columnName) } ?? []
                let rows = result.rows.map { row in
                    row.map { cell -> SQLValue in
                        guard let text = PostgresSession.Connection.text(cell) else { return .null }
                        switch cell.dataType {
                        case .int2, .int4, .int8, .bool: return Int64(text).map(SQLValue.integer) ?? .text(text)
                        case .float4, .float8: return Double(text).map(SQLValue.real) ?? .text(text)
                        default: return .text(text)
                        }
                    }
                }
                // An empty SELECT is still a query ("(0 rows)"), not a write that changed nothing.
                let command = result.metadata.command
                return QueryResult(columns: columns, rows: rows, changes: result.metadata.rows ?? 0,
                                   returnsRows: !columns.isEmpty || ["SELECT", "SHOW", "FETCH", "VALUES", "EXPLAIN"].contains(command))
            }
        } catch {
            let failure = Self.storeError(error)
            if !allowWrite, failure.message.contains("read-only transaction") {
                throw StoreError(.writeRefused, "Refusing to run '\(sql.prefix(80))': it writes to the database. Add --write to allow it.")
            }
            if failure.message.contains("cannot insert multiple commands into a prepared statement") {
                throw StoreError(.sqlError, "on PostgreSQL, 'sheetsync query' runs one statement at a time; run each statement on its own")
            }
            throw failure
        }
    }
}
