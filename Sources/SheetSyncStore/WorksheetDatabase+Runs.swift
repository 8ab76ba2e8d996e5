import GRDB
import SheetSyncCore

/// A per-record step that failed for one record (with `on_failure: continue`).
public struct StepFailure: Sendable {
    public var step: String
    public var key: [SQLValue]
    public var error: String

    public init(step: String, key: [SQLValue], error: String) {
        self.step = step
        self.key = key
        self.error = error
    }
}

extension WorksheetDatabase {
    /// Records the start of a run and returns its id.
    public func beginRun(job: String, trigger: RunTrigger) throws(StoreError) -> Int64 {
        try write { db in
            try db.execute(sql: "INSERT INTO _sheetsync_runs (job, trigger, started_at, status) VALUES (?, ?, \(SQL.now), 'running')",
                           arguments: [job, trigger.rawValue])
            return db.lastInsertedRowID
        }
    }

    /// Records how a run ended.
    public func finishRun(_ id: Int64, status: RunStatus, counts: WriteCounts, requests: Int,
                          errorCode: String? = nil, errorMessage: String? = nil, details: JSONValue? = nil) throws(StoreError) {
        try write { db in
            try db.execute(sql: """
                UPDATE _sheetsync_runs SET ended_at = \(SQL.now), status = ?, requests = ?, inserted = ?, updated = ?,
                    unchanged = ?, rejected = ?, deleted = ?, details = ?, error_code = ?, error_message = ?
                WHERE id = ?
                """, arguments: [status.rawValue, requests, counts.inserted, counts.updated, counts.unchanged,
                                 counts.rejectedTotal, counts.deletedTotal, (details ?? counts.json).jsonText, errorCode, errorMessage, id])
        }
    }

    /// Appends request attempts to `_sheetsync_requests`.
    public func recordRequests(_ entries: [RequestAttempt], run: Int64) throws(StoreError) {
        guard !entries.isEmpty else { return }
        try write { db in
            let statement = try db.cachedStatement(sql: """
                INSERT INTO _sheetsync_requests (run_id, method, url, status, duration_ms, bytes, attempt, error, sent_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, \(SQL.now))
                """)
            for entry in entries {
                try statement.execute(arguments: [run, entry.method, entry.url, entry.status, entry.durationMilliseconds,
                                                  entry.bytes, entry.attempt, entry.error])
            }
        }
    }

    /// Recent runs, newest first.
    public func runs(job: String? = nil, limit: Int = 20) throws(StoreError) -> [RunRecord] {
        try read { db in
            let filter = job == nil ? "" : "WHERE job = ?"
            let arguments: StatementArguments = job.map { [$0, limit] } ?? [limit]
            return try Row.fetchAll(db, sql: "SELECT * FROM _sheetsync_runs \(filter) ORDER BY id DESC LIMIT ?", arguments: arguments).map { row in
                RunRecord(id: row["id"], job: row["job"], trigger: row["trigger"], startedAt: row["started_at"], endedAt: row["ended_at"],
                          status: row["status"], requests: row["requests"], inserted: row["inserted"], updated: row["updated"],
                          unchanged: row["unchanged"], rejected: row["rejected"], deleted: row["deleted"],
                          errorCode: row["error_code"], errorMessage: row["error_message"])
            }
        }
    }

    /// The job's saved state (`{{state.x}}`).
    public func state(job: String) throws(StoreError) -> [String: String] {
        try read { db in
            var result: [String: String] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT name, value FROM _sheetsync_state WHERE job = ?", arguments: [job]) {
                result[row["name"]] = row["value"]
            }
            return result
        }
    }

    /// Writes one page in one transaction: the job's rows, each child worksheet's rows
    /// (replacing the children of every parent in the page), and the rejects.
    ///
    /// `rows` may hold several batches with different columns: a record whose
    /// per-record step failed with `on_failure: continue` is written without that
    /// step's fields, so their stored values stay as they were.
    public func writePage(rows: [RowBatch], into worksheet: WorksheetDefinition, children: [(ChildRows, WorksheetDefinition)],
                          rejects: [Reject], job: String, run: Int64?, state: [String: String?] = [:],
                          stepFailures: [StepFailure] = []) throws(StoreError) -> WriteCounts {
        try write { db in
            var counts = WriteCounts()
            counts.byWorksheet[worksheet.name] = UpsertCounts()
            for batch in rows {
                counts.byWorksheet[worksheet.name]! += try Self.upsert(batch, into: worksheet, source: job, db)
            }
            if !stepFailures.isEmpty {
                let statement = try db.cachedStatement(sql: "INSERT INTO _sheetsync_step_failures (run_id, job, step, record_key, error) VALUES (?, ?, ?, ?, ?)")
                for failure in stepFailures {
                    try statement.execute(arguments: [run, job, failure.step, JSONValue.array(failure.key.map(\.jsonValue)).jsonText, failure.error])
                }
            }
            for (child, definition) in children {
                counts.byWorksheet[definition.name, default: UpsertCounts()] += try Self.upsert(child.rows, into: definition, source: job, db)
                counts.deleted[definition.name, default: 0] += try Self.removeStaleChildren(child, in: definition, db)
            }
            if !rejects.isEmpty {
                let statement = try db.cachedStatement(sql: "INSERT INTO _sheetsync_rejects (job, run_id, worksheet, reason, raw) VALUES (?, ?, ?, ?, ?)")
                for reject in rejects {
                    try statement.execute(arguments: [job, run, reject.worksheet, reject.reason, reject.raw])
                    counts.rejected[reject.worksheet, default: 0] += 1
                }
            }
            try Self.saveState(state, job: job, db)
            return counts
        }
    }

    /// Sets (or, for nil, deletes) state values of a job.
    public func saveState(_ state: [String: String?], job: String) throws(StoreError) {
        try write { db in try Self.saveState(state, job: job, db) }
    }

    /// Deletes every state value of a job.
    public func resetState(job: String) throws(StoreError) {
        try write { db in try db.execute(sql: "DELETE FROM _sheetsync_state WHERE job = ?", arguments: [job]) }
    }

    static func saveState(_ state: [String: String?], job: String, _ db: Database) throws {
        for (name, value) in state {
            guard let value else {
                try db.execute(sql: "DELETE FROM _sheetsync_state WHERE job = ? AND name = ?", arguments: [job, name])
                continue
            }
            try db.execute(sql: """
                    INSERT INTO _sheetsync_state (job, name, value) VALUES (?, ?, ?)
                    ON CONFLICT (job, name) DO UPDATE SET value = excluded.value, updated_at = \(SQL.now)
                    """, arguments: [job, name, value])
        }
    }

    /// Deletes child rows of the page's parents that the response no longer lists.
    ///
    /// Per parent: read its child keys with a cached indexed query (the child key starts
    /// with the link columns in the usual layout), and delete the ones not in the page
    /// with a cached point delete. Every statement is prepared once per page.
    static func removeStaleChildren(_ child: ChildRows, in worksheet: WorksheetDefinition, _ db: Database) throws -> Int {
        let linkIndexes = child.linkColumns.compactMap { child.rows.columns.firstIndex(of: $0) }
        let keyIndexes = worksheet.key.compactMap { child.rows.columns.firstIndex(of: $0) }
        guard linkIndexes.count == child.linkColumns.count, keyIndexes.count == worksheet.key.count else { return 0 }
        var keep: [[SQLValue]: Set<[SQLValue]>] = [:]
        for row in child.rows.rows {
            keep[linkIndexes.map { row[$0] }, default: []].insert(keyIndexes.map { row[$0] })
        }
        let table = SQL.quote(worksheet.name)
        let linkMatch = child.linkColumns.map { "\(SQL.quote($0)) = ?" }.joined(separator: " AND ")
        let keyMatch = worksheet.key.map { "\(SQL.quote($0)) = ?" }.joined(separator: " AND ")
        let select = try db.cachedStatement(sql: "SELECT \(worksheet.key.map(SQL.quote).joined(separator: ", ")) FROM \(table) WHERE \(linkMatch)")
        let delete = try db.cachedStatement(sql: "DELETE FROM \(table) WHERE \(keyMatch)")
        var deleted = 0
        for parent in Set(child.parentKeys) {
            let kept = keep[parent] ?? []
            let existing = try Row.fetchAll(select, arguments: StatementArguments(parent.map(\.databaseValue))).map { row in
                (0..<worksheet.key.count).map { SQLValue(row[$0] as DatabaseValue) }
            }
            for key in existing where !kept.contains(key) {
                try delete.execute(arguments: StatementArguments(key.map(\.databaseValue)))
                deleted += db.changesCount
            }
        }
        return deleted
    }
}

extension WorksheetDatabase {
    /// Deliveries per job and state, for metrics.
    public func deliveryCounts() throws(StoreError) -> [(job: String, state: String, count: Int)] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT job, state, count(*) AS n FROM _sheetsync_deliveries GROUP BY job, state ORDER BY job, state")
                .map { ($0["job"], $0["state"], $0["n"]) }
        }
    }

    /// HTTP requests per job: how many and their total duration, for metrics.
    public func requestStats() throws(StoreError) -> [(job: String, count: Int, milliseconds: Int)] {
        try read { db in
            try Row.fetchAll(db, sql: """
                SELECT r.job, count(q.id) AS n, coalesce(sum(q.duration_ms), 0) AS ms
                FROM _sheetsync_requests q JOIN _sheetsync_runs r ON r.id = q.run_id GROUP BY r.job ORDER BY r.job
                """).map { ($0["job"], $0["n"], $0["ms"]) }
        }
    }
}
