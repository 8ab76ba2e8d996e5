import SheetSyncCore

/// What a push job needs of the database: the changes captured from its worksheet (the
/// outbox the capture triggers fill, in SQLite and in PL/pgSQL alike) and the delivery
/// ledger that makes each change arrive (frozen payloads, attempts, outcomes).
///
/// Both stores implement it with the same meaning; their doc comments are on
/// `WorksheetDatabase`'s methods (`WorksheetDatabase+Outbox`, `+Deliveries`,
/// `+DeliveryAttempts`). The runner holds `any WorksheetStore`, which refines this.
public protocol DeliveryLedger: AnyObject, Sendable {
    // MARK: Changes captured

    /// Turns new outbox rows of `worksheet` into deliveries of `job`; returns how many were queued.
    @discardableResult
    func ingestChanges(job: String, worksheet: String, chunk: Int) throws(StoreError) -> Int
    /// Marks every pending delivery of `job` skipped (`push --drop-pending`); returns how many.
    func dropPending(job: String, worksheet: String) throws(StoreError) -> Int
    /// Deletes outbox rows every job reading `worksheet` has consumed.
    func pruneOutbox(worksheet: String, jobs: [String]) throws(StoreError)
    /// The key of the latest change of `worksheet` (for `sheetsync test PUSHJOB`).
    func latestChangedKey(worksheet: WorksheetDefinition) throws(StoreError) -> String?
    /// Record keys changed since `job` last looked, without consuming them (dry runs).
    func unconsumedChanges(job: String, worksheet: String) throws(StoreError) -> [(key: String, operation: String)]

    // MARK: The ledger

    func interruptedUnits(job: String) throws(StoreError) -> [[Delivery]]
    func chargeInterrupted(_ ids: [Int64]) throws(StoreError)
    func pendingCount(job: String) throws(StoreError) -> Int
    func batchMembers(_ batchID: String) throws(StoreError) -> [Delivery]
    func dueDeliveries(job: String, now: String, limit: Int, after: Int64?) throws(StoreError) -> [Delivery]
    func nextDueTime(job: String) throws(StoreError) -> String?
    func deliveries(job: String?, state: DeliveryState?, limit: Int) throws(StoreError) -> [Delivery]
    func replay(job: String, changeID: String?, failedOnly: Bool, since: String?) throws(StoreError) -> Int

    // MARK: Records and attempts

    /// The current row of a record, by its key, and whether `condition` holds for it.
    func record(in worksheet: WorksheetDefinition, key: [SQLValue], condition: String?) throws(StoreError) -> (values: [String: SQLValue], matches: Bool)?
    func pushedHash(job: String, key: String) throws(StoreError) -> String?
    func pushInputs(job: String, worksheet: WorksheetDefinition, recordKeys: [String], condition: String?) throws(StoreError)
        -> [(record: (values: [String: SQLValue], matches: Bool)?, pushedHash: String?)]
    /// Freezes and claims the attempts for this process, and marks the skipped ones; returns
    /// the ids it claimed (of both). Where
    /// several daemons share the ledger (PostgreSQL), one another node is sending or has
    /// claimed is neither claimed nor marked skipped here; in SQLite every id is claimed.
    @discardableResult
    func beginAttempts(_ attempts: [DeliveryAttempt], skipped: [(id: Int64, reason: String)]) throws(StoreError) -> Set<Int64>
    func finishAttempts(_ results: [DeliveryResult], requests: [RequestAttempt], run: Int64, worksheet: WorksheetDefinition,
                        state: [String: String?], job: String) throws(StoreError)
}

/// Shorter forms, for callers holding `any DeliveryLedger`.
extension DeliveryLedger {
    @discardableResult
    public func ingestChanges(job: String, worksheet: String) throws(StoreError) -> Int {
        try ingestChanges(job: job, worksheet: worksheet, chunk: 5_000)
    }

    public func dueDeliveries(job: String, now: String, limit: Int) throws(StoreError) -> [Delivery] {
        try dueDeliveries(job: job, now: now, limit: limit, after: nil)
    }

    public func finishAttempts(_ results: [DeliveryResult], requests: [RequestAttempt], run: Int64, worksheet: WorksheetDefinition,
                               job: String) throws(StoreError) {
        try finishAttempts(results, requests: requests, run: run, worksheet: worksheet, state: [:], job: job)
    }

    /// Deliveries of `job` left in flight by a process that stopped mid-send, grouped into
    /// what went out together (a batch, or one delivery), from the ledger's rows in id order.
    public static func units(_ cut: [Delivery]) -> [[Delivery]] {
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
}
