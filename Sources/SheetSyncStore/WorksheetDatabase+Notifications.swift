import Foundation
import GRDB
import SheetSyncCore

/// One row of `_sheetsync_notifications`.
public struct NotificationRecord: Sendable, Equatable {
    public var id: Int64
    /// Sent as `webhook-id`: the same on every attempt, so a receiver can drop repeats.
    public var notificationID: String
    public var job: String
    public var event: String
    public var run: Int64?
    public var payload: String
    public var state: String
    public var attempts: Int
    public var lastError: String?

    public init(id: Int64, notificationID: String, job: String, event: String, run: Int64?, payload: String, state: String,
                attempts: Int, lastError: String?) {
        self.id = id
        self.notificationID = notificationID
        self.job = job
        self.event = event
        self.run = run
        self.payload = payload
        self.state = state
        self.attempts = attempts
        self.lastError = lastError
    }
}

/// The failure notification ledger (`notify:`).
extension WorksheetDatabase {
    /// Failed runs of `job` in a row, ending with run `run` (counting back to the last run
    /// that succeeded or was partial; skipped, interrupted and running ones are passed over).
    public func failuresInARow(job: String, upTo run: Int64) throws(StoreError) -> Int {
        try read { db in
            try Int.fetchOne(db, sql: """
                SELECT count(*) FROM _sheetsync_runs WHERE job = ?1 AND status = 'failed' AND id <= ?2
                AND id > coalesce((SELECT max(id) FROM _sheetsync_runs WHERE job = ?1 AND id <= ?2 AND status IN ('succeeded', 'partial')), 0)
                """, arguments: [job, run]) ?? 0
        }
    }

    /// Queues a message; sent by `dueNotifications` / `finishNotification`.
    public func queueNotification(job: String, event: String, run: Int64?, payload: String) throws(StoreError) {
        try write { db in
            try db.execute(sql: "INSERT INTO _sheetsync_notifications (notification_id, job, event, run_id, payload) VALUES (?, ?, ?, ?, ?)",
                           arguments: [Delivery.randomID(prefix: "ntf_"), job, event, run, payload])
        }
    }

    /// Pending messages whose next attempt is due, oldest first.
    public func dueNotifications(now: String, limit: Int = 100) throws(StoreError) -> [NotificationRecord] {
        try read { db in
            try Row.fetchAll(db, sql: """
                SELECT id, notification_id, job, event, run_id, payload, state, attempts, last_error FROM _sheetsync_notifications
                WHERE state = 'pending' AND next_attempt_at <= ? ORDER BY id LIMIT ?
                """, arguments: [now, limit]).map {
                NotificationRecord(id: $0["id"], notificationID: $0["notification_id"], job: $0["job"], event: $0["event"], run: $0["run_id"],
                                   payload: $0["payload"], state: $0["state"], attempts: $0["attempts"], lastError: $0["last_error"])
            }
        }
    }

    /// Every message of `job` (or all), newest first.
    public func notifications(job: String? = nil, limit: Int = 100) throws(StoreError) -> [NotificationRecord] {
        try read { db in
            try Row.fetchAll(db, sql: """
                SELECT id, notification_id, job, event, run_id, payload, state, attempts, last_error FROM _sheetsync_notifications
                \(job == nil ? "" : "WHERE job = ?") ORDER BY id DESC LIMIT ?
                """, arguments: StatementArguments(job.map { [$0 as DatabaseValueConvertible, limit] } ?? [limit])).map {
                NotificationRecord(id: $0["id"], notificationID: $0["notification_id"], job: $0["job"], event: $0["event"], run: $0["run_id"],
                                   payload: $0["payload"], state: $0["state"], attempts: $0["attempts"], lastError: $0["last_error"])
            }
        }
    }

    /// Takes a due message for sending: moves its next attempt to `until`, so that another
    /// sender (the daemon's loop beside a run that just ended, another process) does not send
    /// it at the same time; a sender that dies mid-send leaves it to be sent again then.
    /// False when someone else took it first.
    public func claimNotification(_ id: Int64, now: String, until: String) throws(StoreError) -> Bool {
        try write { db in
            try db.execute(sql: "UPDATE _sheetsync_notifications SET next_attempt_at = ? WHERE id = ? AND state = 'pending' AND next_attempt_at <= ?",
                           arguments: [until, id, now])
            return db.changesCount == 1
        }
    }

    /// Records an attempt: delivered, retried at `nextAttempt`, or failed for good (nil).
    public func finishNotification(_ id: Int64, delivered: Bool, status: Int?, error: String?, nextAttempt: String?) throws(StoreError) {
        try write { db in
            if delivered {
                try db.execute(sql: "UPDATE _sheetsync_notifications SET state = 'delivered', attempts = attempts + 1, last_status = ?, last_error = NULL, delivered_at = \(SQL.now) WHERE id = ?",
                               arguments: [status, id])
            } else if let nextAttempt {
                try db.execute(sql: "UPDATE _sheetsync_notifications SET attempts = attempts + 1, last_status = ?, last_error = ?, next_attempt_at = ? WHERE id = ?",
                               arguments: [status, error, nextAttempt, id])
            } else {
                try db.execute(sql: "UPDATE _sheetsync_notifications SET state = 'failed', attempts = attempts + 1, last_status = ?, last_error = ? WHERE id = ?",
                               arguments: [status, error, id])
            }
        }
    }
}
