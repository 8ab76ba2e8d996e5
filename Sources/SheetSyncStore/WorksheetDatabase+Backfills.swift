import GRDB
import SheetSyncCore

/// A backfill as recorded in `_sheetsync_backfills`, with the windows still to do.
public struct BackfillProgress: Sendable {
    public var id: Int64
    /// Every window, in order; `done` marks those finished by this or an earlier attempt.
    public var windows: [(position: Int, window: BackfillWindow, done: Bool)]
    /// True when an earlier backfill with the same job, range, step, zone and parameters was picked
    /// up: an interrupted one, or a finished one (then every window is done).
    public var resumed: Bool

    public init(id: Int64, windows: [(position: Int, window: BackfillWindow, done: Bool)], resumed: Bool) {
        self.id = id
        self.windows = windows
        self.resumed = resumed
    }
}

extension WorksheetDatabase {
    /// Finds the latest backfill of `job` over the same range, step, zone and `params` (a
    /// digest of the `--param` values, '' for none) — unfinished,
    /// or finished (every window done, so there is nothing to do) — unless `restart`, or
    /// records a new one with `windows`. A backfill that `restart` replaced is marked
    /// finished, but a newer one always exists for it, so it is never picked up again.
    public func startBackfill(job: String, from: String, to: String, step: String, timezone: String,
                              params: String = "", windows: [BackfillWindow], restart: Bool) throws(StoreError) -> BackfillProgress {
        try write { db in
            if !restart, let id = try Int64.fetchOne(db, sql: """
                SELECT id FROM _sheetsync_backfills
                WHERE job = ? AND range_from = ? AND range_to = ? AND step = ? AND timezone = ? AND params = ?
                ORDER BY id DESC LIMIT 1
                """, arguments: [job, from, to, step, timezone, params]) {
                let rows = try Row.fetchAll(db, sql: "SELECT position, window_start, window_end, status FROM _sheetsync_backfill_windows WHERE backfill_id = ? ORDER BY position", arguments: [id])
                let list = rows.compactMap { row -> (Int, BackfillWindow, Bool)? in
                    guard let start = UTCDateTime(iso: row["window_start"] as String), let end = UTCDateTime(iso: row["window_end"] as String) else { return nil }
                    return (row["position"], BackfillWindow(start: start, end: end), (row["status"] as String) == "done")
                }
                return BackfillProgress(id: id, windows: list, resumed: true)
            }
            if restart {
                try db.execute(sql: "UPDATE _sheetsync_backfills SET finished_at = \(SQL.now) WHERE job = ? AND finished_at IS NULL", arguments: [job])
            }
            try db.execute(sql: "INSERT INTO _sheetsync_backfills (job, range_from, range_to, step, timezone, params) VALUES (?, ?, ?, ?, ?, ?)",
                           arguments: [job, from, to, step, timezone, params])
            let id = db.lastInsertedRowID
            let insert = try db.makeStatement(sql: "INSERT INTO _sheetsync_backfill_windows (backfill_id, position, window_start, window_end) VALUES (?, ?, ?, ?)")
            for (position, window) in windows.enumerated() {
                try insert.execute(arguments: [id, position, window.start.description, window.end.description])
            }
            return BackfillProgress(id: id, windows: windows.enumerated().map { ($0.offset, $0.element, false) }, resumed: false)
        }
    }

    /// Records how one window ended.
    public func finishWindow(backfill: Int64, position: Int, succeeded: Bool, run: Int64?, rows: Int) throws(StoreError) {
        try write { db in
            try db.execute(sql: """
                UPDATE _sheetsync_backfill_windows SET status = ?, run_id = ?, rows = ?, finished_at = \(SQL.now)
                WHERE backfill_id = ? AND position = ?
                """, arguments: [succeeded ? "done" : "failed", run, rows, backfill, position])
        }
    }

    /// Marks the backfill finished when every window is done; returns whether it is.
    @discardableResult
    public func finishBackfillIfComplete(_ id: Int64) throws(StoreError) -> Bool {
        try write { db in
            let open = try Int.fetchOne(db, sql: "SELECT count(*) FROM _sheetsync_backfill_windows WHERE backfill_id = ? AND status != 'done'", arguments: [id]) ?? 0
            if open == 0 {
                try db.execute(sql: "UPDATE _sheetsync_backfills SET finished_at = \(SQL.now) WHERE id = ?", arguments: [id])
            }
            return open == 0
        }
    }
}
