import GRDB

extension WorksheetDatabase {
    /// Marks runs whose process is gone as `interrupted`, with when it was noticed (in
    /// `ended_at` and the message). Runs of live processes — this one, or a `sheetsync run`
    /// next to `serve` — stay `running`. Every process that opens the database does this
    /// (the daemon also hourly); returns how many runs it marked.
    @discardableResult
    public func markInterruptedRuns() throws(StoreError) -> Int {
        try write { db in try Self.markInterruptedRuns(db) }
    }

    static func markInterruptedRuns(_ db: Database) throws -> Int {
        let rows = try Row.fetchAll(db, sql: "SELECT id, owner_pid, owner FROM _sheetsync_runs WHERE status = 'running'")
        guard !rows.isEmpty else { return 0 }
        let mark = try db.cachedStatement(sql: """
            UPDATE _sheetsync_runs SET status = 'interrupted', ended_at = \(SQL.now), error_code = 'interrupted',
                error_message = 'the process that ran it (pid ' || ?1 || ') ended before the run did (killed, crashed or the machine restarted); noticed at ' || \(SQL.now) || ' by pid ' || ?2 || '. A paginated run resumes at its first page not written'
            WHERE id = ?3 AND status = 'running'
            """)
        var marked = 0
        for row in rows {
            // Runs recorded before schema version 7 have no owner; that migration marked them.
            guard let pid = row["owner_pid"] as Int32?, let token = row["owner"] as String? else { continue }
            guard RunOwner(pid: pid, token: token).liveness == .gone else { continue }
            try mark.execute(arguments: [pid, RunOwner.current.pid, row["id"] as Int64])
            marked += db.changesCount
        }
        return marked
    }
}
