import Foundation
import NIOConcurrencyHelpers
import SheetSyncCore
import SheetSyncStore

/// Several `sheetsync serve` processes ("nodes") on one PostgreSQL database, as job systems
/// on PostgreSQL do it (River, Oban, Quartz's JDBC store) — claims in the database, not a
/// protocol between the nodes:
///
/// - a scheduled fire runs once: the node whose `INSERT` into `_sheetsync_fires` (primary
///   key job + fire time) went in runs it; every node computes the same fire times;
/// - a job runs on one node at a time: a session advisory lock per job (`tryLock`), held
///   on the node's coordination connection while the run or push pass goes on. A node that
///   dies loses its locks the moment its connections close (kill -9 included: the kernel
///   closes them), so another node can take the job at its next fire;
/// - every node heartbeats (`_sheetsync_nodes`, every 2 s); a run whose node has not
///   heartbeated for 10 s is marked `interrupted` by the next live node's heartbeat, which
///   runs the job again: a paginated run resumes at its first page not written.
extension PostgresStore: SharedWork {
    public var sharesWork: Bool { true }

    public func checkInPlace() throws(StoreError) {}

    /// The coordination connection, opened on first use.
    func coordinating<T>(_ body: (PostgresSession.Connection) throws -> T) throws(StoreError) -> T {
        try on(coordination, body)
    }

    /// `body` on the connection in `box`, opened on first use.
    private func on<T>(_ box: NIOLockedValueBox<PostgresSession?>, _ body: (PostgresSession.Connection) throws -> T) throws(StoreError) -> T {
        let session: PostgresSession
        do {
            session = try box.withLockedValue { current throws(StoreError) -> PostgresSession in
                if let current { return current }
                let opened = try PostgresSession(server.location, password: server.password)
                current = opened
                return opened
            }
        } catch let error as StoreError {
            throw error
        } catch {
            throw Self.storeError(error)
        }
        return try session.withConnection(body)
    }

    static let node = RunOwner.current
    /// This process as a node: its run owner's token and pid (two processes started in the
    /// same clock tick share a token; the pid tells them apart, as it does for runs).
    static let nodeID = "\(node.token)|\(node.pid)"

    public func claimFire(job: String, tick: String) throws(StoreError) -> Bool {
        try coordinating { db in
            try db.changes("""
                INSERT INTO _sheetsync_fires (job, fire_at, node) VALUES ($1, $2::timestamptz, $3) ON CONFLICT (job, fire_at) DO NOTHING
                """, [.text(job), .text(tick), .text(Self.nodeID)]) == 1
        }
    }

    /// Advisory locks in sheetsync's own class (the first key: "shee" in ASCII), the second
    /// key `hashtext(name)`: two names with one hash only wait for each other.
    static let lockClass: Int64 = 0x7368_6565

    public func tryLock(_ name: String) throws(StoreError) -> Bool {
        try coordinating { db in
            let row = try db.rows("SELECT pg_try_advisory_lock($1::integer, hashtext($2)), pg_backend_pid()",
                                  [.integer(Self.lockClass), .text(name)]).first
            guard row?[0] == "1", let holder = row?[1] ?? nil else { return false }
            heldLocks.withLockedValue { $0[name] = holder }
            return true
        }
    }

    public func unlock(_ name: String) throws(StoreError) {
        _ = try coordinating { db in
            heldLocks.withLockedValue { _ = $0.removeValue(forKey: name) }
            // False (and a warning) when the connection that took it was lost: nothing to undo.
            return try db.firstValue("SELECT pg_advisory_unlock($1::integer, hashtext($2))", [.integer(Self.lockClass), .text(name)])
        }
    }

    /// What a fenced run's page checks before it commits: that the server process which
    /// took the job's lock still holds it. A coordination connection that dropped (a
    /// network cut, a server restart, `pg_terminate_backend`) took the lock with it, and
    /// another node may be running the job already: the page is rolled back and the run
    /// stops; its next run resumes at this page. (Taking the lock again after reconnecting
    /// would not do: someone else may hold it by then, or have held it meanwhile.)
    static func checkFence(_ fence: (lock: String, holder: String), job: String, _ db: PostgresSession.Connection) throws {
        let held = try db.firstValue("""
            SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid = $1::integer::oid
                AND objid = hashtext($2)::oid AND objsubid = 2 AND pid = $3::integer AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
            """, [.integer(lockClass), .text(fence.lock), .text(fence.holder)])
        guard held == "1" else {
            throw StoreError(.lostClaim, "this node no longer holds job '\(job)' (its connection to PostgreSQL that held the job's lock was lost, so another node may be running the job now): the page was not kept and the run stops here; the job's next run resumes at this page")
        }
    }

    public func heartbeat(takingOver: Bool) throws(StoreError) -> [String] {
        try on(beating) { db in
            try db.execute("""
                INSERT INTO _sheetsync_nodes (id, host, pid) VALUES ($1, $2, $3::integer)
                ON CONFLICT (id) DO UPDATE SET heartbeat_at = now()
                """, [.text(Self.nodeID), .text(RunOwner.hostName), .integer(Int64(Self.node.pid))])
            guard takingOver else { return [] }
            // One statement: of two live nodes, only the one whose UPDATE changed a run gets its
            // job back. The runs are claimed SKIP LOCKED: a heartbeat never waits for a row lock
            // (a dead node's server process can hold one until it notices its client is gone,
            // and `lock_timeout` would fail the whole beat); a run skipped now is marked by a
            // later beat, here or on another node.
            let taken = try db.rows("""
                UPDATE _sheetsync_runs r SET status = 'interrupted', ended_at = clock_timestamp(), error_code = 'interrupted',
                    error_message = 'the node that ran it (' || n.host || ', pid ' || n.pid || ') stopped heartbeating at '
                        || to_char(n.heartbeat_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') || '; node ' || $1 || ', pid ' || $2
                        || ' runs the job again (a paginated run resumes at its first page not written)'
                FROM _sheetsync_nodes n
                WHERE r.owner || '|' || r.owner_pid = n.id AND r.id IN (
                    SELECT d.id FROM _sheetsync_runs d JOIN _sheetsync_nodes dn ON d.owner || '|' || d.owner_pid = dn.id
                    WHERE d.status = 'running' AND dn.id <> $3 AND dn.heartbeat_at < now() - make_interval(secs => $4::integer)
                    FOR UPDATE OF d SKIP LOCKED)
                RETURNING r.job
                """, [.text(RunOwner.hostName), .text(String(Self.node.pid)), .text(Self.nodeID), .integer(Int64(NodeRecord.deadAfterSeconds))])
            // A node gone for a day is forgotten (its runs were taken over long before).
            try db.execute("DELETE FROM _sheetsync_nodes WHERE heartbeat_at < now() - interval '1 day'")
            return taken.compactMap { $0[0] }
        }
    }

    public func nodes() throws(StoreError) -> [NodeRecord] {
        try read { db in
            try db.rows("""
                SELECT n.id, n.host, n.pid, n.started_at, n.heartbeat_at, extract(epoch FROM now() - n.heartbeat_at)::double precision,
                    (SELECT string_agg(DISTINCT r.job, ',') FROM _sheetsync_runs r WHERE r.status = 'running' AND r.owner || '|' || r.owner_pid = n.id)
                FROM _sheetsync_nodes n ORDER BY n.started_at, n.id
                """).map { row in
                NodeRecord(id: row[0] ?? "", host: row[1] ?? "", pid: Int(row[2] ?? "") ?? 0, startedAt: row[3] ?? "", heartbeatAt: row[4] ?? "",
                           secondsSinceHeartbeat: Double(row[5] ?? "") ?? 0,
                           running: (row[6] ?? "").split(separator: ",").map(String.init).sorted())
            }
        }
    }

    /// Removes the node rows of this host's processes that are gone (killed, crashed), as
    /// `markInterruptedRuns` does for runs: a `sheetsync push` killed mid-pass heartbeated a
    /// moment before, and its deliveries in flight would look like a live node's for 10 s —
    /// the next pass, started at once, sent nothing. Other hosts' nodes are judged by their
    /// heartbeats only.
    func forgetGoneNodes() throws(StoreError) {
        try write { db in
            for row in try db.rows("SELECT id FROM _sheetsync_nodes WHERE host = $1", [.text(RunOwner.hostName)]) {
                guard let id = row[0], let bar = id.lastIndex(of: "|"), let pid = Int32(id[id.index(after: bar)...]) else { continue }
                guard RunOwner(pid: pid, token: String(id[..<bar])).liveness == .gone else { continue }
                try db.execute("DELETE FROM _sheetsync_nodes WHERE id = $1", [.text(id)])
            }
        }
    }

    public func leave() throws(StoreError) {
        try coordinating { db in try db.execute("DELETE FROM _sheetsync_nodes WHERE id = $1", [.text(Self.nodeID)]) }
    }

    /// `LISTEN sheetsync_outbox` on a connection of its own: the capture trigger calls
    /// `pg_notify('sheetsync_outbox', worksheet)`, delivered when the writer commits (once per
    /// worksheet and transaction; nothing for a rollback).
    public func changeNotifications() -> AsyncThrowingStream<String, any Error>? {
        let server = self.server
        return AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    let session = try PostgresSession(server.location, password: server.password)
                    defer { session.close() }
                    let notifications = try await session.notifications(channel: "sheetsync_outbox")
                    continuation.yield("")  // listening from here on
                    for try await notification in notifications {
                        continuation.yield(notification.payload)
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    // MARK: Counts and retention

    public func deliveryCounts() throws(StoreError) -> [(job: String, state: String, count: Int)] {
        try read { db in
            try db.rows("SELECT job, state, count(*) FROM _sheetsync_deliveries GROUP BY job, state ORDER BY job, state")
                .map { ($0[0] ?? "", $0[1] ?? "", Int($0[2] ?? "") ?? 0) }
        }
    }

    public func retryingCounts() throws(StoreError) -> [String: Int] {
        try read { db in
            var counts: [String: Int] = [:]
            for row in try db.rows("SELECT job, count(*) FROM _sheetsync_deliveries WHERE state = 'pending' AND attempts > 0 GROUP BY job") {
                counts[row[0] ?? ""] = Int(row[1] ?? "") ?? 0
            }
            return counts
        }
    }

    public func requestStatusCounts() throws(StoreError) -> [(job: String, status: String, count: Int)] {
        try read { db in
            try db.rows("""
                SELECT r.job, coalesce(q.status::text, 'none') AS answer, count(*)
                FROM _sheetsync_requests q JOIN _sheetsync_runs r ON r.id = q.run_id GROUP BY r.job, answer ORDER BY r.job, answer
                """).map { ($0[0] ?? "", $0[1] ?? "", Int($0[2] ?? "") ?? 0) }
        }
    }

    public func requestStats() throws(StoreError) -> [(job: String, count: Int, milliseconds: Int)] {
        try read { db in
            try db.rows("""
                SELECT r.job, count(q.id), coalesce(sum(q.duration_ms), 0)
                FROM _sheetsync_requests q JOIN _sheetsync_runs r ON r.id = q.run_id GROUP BY r.job ORDER BY r.job
                """).map { ($0[0] ?? "", Int($0[1] ?? "") ?? 0, Int($0[2] ?? "") ?? 0) }
        }
    }

    /// As SQLite's `prune`, a chunk of rows per transaction; claimed fires older than a day
    /// go too (they only need to outlive the fires' missed-run window).
    public func prune(_ retention: RetentionSettings, dryRun: Bool) throws(StoreError) -> [PruneResult] {
        let plans = WorksheetDatabase.prunePlans(retention) { duration in
            guard let duration else { return "'-infinity'::timestamptz" }
            return "now() - make_interval(secs => \(duration.components.seconds))"
        }
        var results: [PruneResult] = []
        for plan in plans {
            let count: Int
            if dryRun {
                count = try read { db in Int(try db.firstValue("SELECT count(*) FROM \(plan.table) WHERE \(plan.predicate)") ?? "") ?? 0 }
            } else {
                var removed = 0
                while true {
                    let changes = try write { db in
                        try db.changes("DELETE FROM \(plan.table) WHERE id IN (SELECT id FROM \(plan.table) WHERE \(plan.predicate) LIMIT 2000)")
                    }
                    removed += changes
                    if changes == 0 { break }
                }
                count = removed
            }
            results.append(PruneResult(ledger: plan.ledger, retention: retention[plan.ledger], count: count))
        }
        if !dryRun {
            try write { db in try db.execute("DELETE FROM _sheetsync_fires WHERE claimed_at < now() - interval '1 day'") }
        }
        return results
    }
}
