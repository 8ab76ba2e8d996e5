import Foundation
import GRDB
import SheetSyncCore

/// Taking changes from `_sheetsync_outbox` into the delivery ledger.
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

    /// One chunk, set-based: a statement per step instead of two per outbox row (a fifth of
    /// a batch push's CPU went to the per-row lookups and inserts, profile 2026-12-02).
    /// Per record in the chunk, in the order of its first change there: an open delivery
    /// takes the chunk's latest change; otherwise a new delivery is queued whose first
    /// operation is the record's first change in the chunk and that covers its latest.
    private func ingestChunk(job: String, worksheet: String, limit: Int) throws(StoreError) -> (queued: Int, more: Bool) {
        try write { db in
            let stateKey = StateKey.outboxPosition
            let last = try Int64.fetchOne(db, sql: "SELECT CAST(value AS INTEGER) FROM _sheetsync_state WHERE job = ? AND name = ?", arguments: [job, stateKey]) ?? 0
            let window = try Row.fetchOne(db, sql: """
                SELECT count(*), max(seq) FROM (SELECT seq FROM _sheetsync_outbox WHERE worksheet = ? AND seq > ? ORDER BY seq LIMIT ?)
                """, arguments: [worksheet, last, limit])
            guard let window, let newest = window[1] as Int64? else { return (0, false) }
            let count: Int = window[0]
            // ?1 worksheet, ?2 last position, ?3 newest seq of the chunk, ?4 job. Changes the
            // job's own write-back made (origin = job) are not queued again for it.
            let changes = """
                WITH chunk AS (SELECT seq, record_key, operation FROM _sheetsync_outbox
                               WHERE worksheet = ?1 AND seq > ?2 AND seq <= ?3 AND (origin IS NULL OR origin <> ?4)),
                     records AS (SELECT record_key, min(seq) AS first_seq, max(seq) AS last_seq FROM chunk GROUP BY record_key)
                """
            let open = """
                SELECT max(o.id) FROM _sheetsync_deliveries o
                WHERE o.job = ?4 AND o.record_key = r.record_key AND o.state = 'pending' AND o.attempts = 0 AND o.payload IS NULL
                """
            let arguments: StatementArguments = [worksheet, last, newest, job]
            try db.execute(sql: """
                \(changes)
                UPDATE _sheetsync_deliveries SET outbox_seq = r.last_seq FROM records r
                WHERE _sheetsync_deliveries.id = (\(open))
                """, arguments: arguments)
            try db.execute(sql: """
                \(changes)
                INSERT INTO _sheetsync_deliveries (job, worksheet, record_key, change_id, first_operation, outbox_seq)
                SELECT ?4, ?1, r.record_key, sheetsync_change_id(), (SELECT operation FROM chunk c WHERE c.seq = r.first_seq), r.last_seq
                FROM records r WHERE (\(open)) IS NULL
                ORDER BY r.first_seq
                """, arguments: arguments)
            let queued = db.changesCount
            try Self.saveState([stateKey: String(newest)], job: job, db)
            return (queued, count == limit)
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
}
