import GRDB
import SheetSyncCore

/// What `prune` removed (or, in a dry run, would remove) from one ledger.
public struct PruneResult: Sendable, Equatable {
    /// The ledger's key in `retention:` (`runs`, `requests`, …).
    public var ledger: String
    /// nil: kept forever (`retention.<ledger>: forever`).
    public var retention: Duration?
    public var count: Int

    public init(ledger: String, retention: Duration?, count: Int) {
        self.ledger = ledger
        self.retention = retention
        self.count = count
    }
}

extension WorksheetDatabase {
    /// Removes ledger rows older than `retention` says, a chunk of rows per transaction so
    /// that runs writing next to it wait only briefly; with `dryRun`, only counts them.
    ///
    /// Never removed: a `running` run, the latest run of each job, deliveries not delivered
    /// (pending, failed). The requests and step failures of a removed run go with it (they
    /// are counted with their ledger); its rejects stay for their own retention.
    public func prune(_ retention: RetentionSettings, dryRun: Bool) throws(StoreError) -> [PruneResult] {
        var results: [PruneResult] = []
        let plans = Self.prunePlans(retention) { duration in
            // Before any date when kept forever: only rows of removed runs match then.
            guard let duration else { return "'0000'" }
            return "strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-\(duration.components.seconds) seconds')"
        }
        for (ledger, table, predicate) in plans {
            let count: Int
            if dryRun {
                count = try read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM \(table) WHERE \(predicate)") ?? 0 }
            } else {
                var removed = 0
                while true {
                    let changes = try write { db in
                        try db.execute(sql: "DELETE FROM \(table) WHERE id IN (SELECT id FROM \(table) WHERE \(predicate) LIMIT 2000)")
                        return db.changesCount
                    }
                    removed += changes
                    if changes == 0 { break }
                }
                count = removed
            }
            results.append(PruneResult(ledger: ledger, retention: retention[ledger], count: count))
        }
        return results
    }

    /// Per ledger, in the order they are pruned (a run's requests and step failures before
    /// the run): the table and the condition on its rows, for either store — `cutoff` is
    /// the store's SQL for "now minus the retention" (a time before any row for nil: kept
    /// forever).
    public static func prunePlans(_ retention: RetentionSettings, cutoff: (Duration?) -> String) -> [(ledger: String, table: String, predicate: String)] {
        let removedRuns = """
            SELECT id FROM _sheetsync_runs WHERE status <> 'running' AND started_at < \(cutoff(retention.runs))
                AND id NOT IN (SELECT max(id) FROM _sheetsync_runs GROUP BY job)
            """
        return [
            ("requests", "_sheetsync_requests", "sent_at < \(cutoff(retention.requests)) OR run_id IN (\(removedRuns))"),
            ("step_failures", "_sheetsync_step_failures", "failed_at < \(cutoff(retention.stepFailures)) OR run_id IN (\(removedRuns))"),
            ("runs", "_sheetsync_runs", "id IN (\(removedRuns))"),
            ("rejects", "_sheetsync_rejects", "rejected_at < \(cutoff(retention.rejects))"),
            ("deliveries", "_sheetsync_deliveries",
             "state IN ('delivered', 'skipped') AND coalesce(delivered_at, created_at) < \(cutoff(retention.deliveries))"),
            ("notifications", "_sheetsync_notifications",
             "state IN ('delivered', 'failed') AND created_at < \(cutoff(retention.notifications))"),
        ]
    }
}
