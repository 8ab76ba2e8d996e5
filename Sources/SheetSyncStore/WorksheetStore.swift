import SheetSyncCore

/// What a pull run, a backfill and the commands need of the database that holds the
/// worksheets, whichever kind it is: `WorksheetDatabase` (SQLite, the default) or
/// `PostgresStore` (SheetSyncPostgres, issue 19). The runner holds `any WorksheetStore`
/// and never learns which one is in use; the SQL stays behind this interface.
///
/// Push jobs' change capture and delivery ledger are its `DeliveryLedger` part; what the
/// daemon needs (counts, retention, and on a shared database claims, locks, heartbeats and
/// change notifications) its `SharedWork` part.
///
/// Every method is synchronous and may block its thread (SQLite's calls do; PostgreSQL's
/// wait for the server's answer), as the store always has.
public protocol WorksheetStore: DeliveryLedger, SharedWork {
    /// Where the data is, for messages: a file path, or a URL without its password.
    var location: String { get }

    // MARK: Schema

    /// Brings the worksheet tables in line with `worksheets` (see `WorksheetDatabase.migrate`).
    @discardableResult
    func migrate(_ worksheets: [WorksheetDefinition], allowDestructive: Bool, captured: Set<String>,
                 pushJobs: [String: String]) throws(StoreError) -> SchemaPlan
    /// What `migrate` would change.
    func plan(for worksheets: [WorksheetDefinition]) throws(StoreError) -> SchemaPlan

    // MARK: Runs and their requests

    func beginRun(job: String, trigger: RunTrigger) throws(StoreError) -> Int64
    func finishRun(_ id: Int64, status: RunStatus, counts: WriteCounts, requests: Int,
                   errorCode: String?, errorMessage: String?, details: JSONValue?) throws(StoreError)
    func recordRequests(_ entries: [RequestAttempt], run: Int64) throws(StoreError)
    /// Recent runs, newest first.
    func runs(job: String?, limit: Int) throws(StoreError) -> [RunRecord]
    /// Marks runs whose process is gone `interrupted`; returns how many.
    @discardableResult
    func markInterruptedRuns() throws(StoreError) -> Int

    // MARK: State

    func state(job: String) throws(StoreError) -> [String: String]
    func saveState(_ state: [String: String?], job: String) throws(StoreError)
    func resetState(job: String) throws(StoreError)
    /// The parameter values `sheetsync test` last used for a job.
    func testValues(job: String) throws(StoreError) -> [String: String]
    func saveTestValues(_ values: [String: String], job: String) throws(StoreError)

    // MARK: Pages

    /// Writes one page in one transaction: rows, children, rejects, step failures, the
    /// page's requests and the state to save with it.
    func writePage(rows: [RowBatch], into worksheet: WorksheetDefinition, children: [(ChildRows, WorksheetDefinition)],
                   rejects: [Reject], job: String, run: Int64?, state: [String: String?],
                   stepFailures: [StepFailure], requests: [RequestAttempt],
                   halfway: (() -> Void)?, write mode: WriteMode,
                   first: (@Sendable (any PageWriter) throws -> Void)?) throws(StoreError) -> WriteCounts
    /// Writes one page in one transaction, in as many parts as `body` hands to the
    /// writer; `body` returns the state saved with the page. Any error rolls the page
    /// back; an error `body` throws is rethrown as it is.
    func writeInParts(into worksheet: WorksheetDefinition, job: String, run: Int64?, requests: [RequestAttempt],
                      halfway: (() -> Void)?, write mode: WriteMode,
                      _ body: (any PageWriter) throws -> [String: String?]) throws -> WriteCounts

    // MARK: Record digests (`skip_unchanged`)

    func guardDigests(_ family: WorksheetDatabase.DigestFamily) throws(StoreError)
    func storedDigests(keys: [[SQLValue]], worksheet: String) throws(StoreError) -> [RecordDigest?]
    func storedPage(_ digest: [UInt8], worksheet: String) throws(StoreError) -> PageDigest?

    // MARK: Backfills

    func startBackfill(job: String, from: String, to: String, step: String, timezone: String,
                       params: String, windows: [BackfillWindow], restart: Bool) throws(StoreError) -> BackfillProgress
    func finishWindow(backfill: Int64, position: Int, succeeded: Bool, run: Int64?, rows: Int) throws(StoreError)
    @discardableResult
    func finishBackfillIfComplete(_ id: Int64) throws(StoreError) -> Bool

    // MARK: Failure notifications

    func failuresInARow(job: String, upTo run: Int64) throws(StoreError) -> Int
    func queueNotification(job: String, event: String, run: Int64?, payload: String) throws(StoreError)
    func dueNotifications(now: String, limit: Int) throws(StoreError) -> [NotificationRecord]
    func notifications(job: String?, limit: Int) throws(StoreError) -> [NotificationRecord]
    func claimNotification(_ id: Int64, now: String, until: String) throws(StoreError) -> Bool
    func finishNotification(_ id: Int64, delivered: Bool, status: Int?, error: String?, nextAttempt: String?) throws(StoreError)

    // MARK: Query

    /// Runs one statement of the user's SQL: read-only unless `allowWrite`.
    func query(sql: String, allowWrite: Bool) throws(StoreError) -> QueryResult

    func close() throws(StoreError)
}

/// Where the parts of one page go, inside the page's transaction. Valid only within
/// the `writeInParts` closure that hands it over.
public protocol PageWriter: AnyObject {
    /// What the page's rows and children did so far.
    var counts: WriteCounts { get }
    /// The whole page, when its digest is to be stored (`skip_unchanged`).
    var page: PageDigest? { get set }
    /// Writes rows of the job's worksheet in the job's `write` mode, each child
    /// worksheet's rows in theirs, and records the rejects.
    func write(_ rows: RowBatch, children: [(ChildRows, WorksheetDefinition)], rejects: [Reject]) throws
    /// Confirms records the reader skipped as unchanged; returns the positions of those
    /// that are not (the caller writes them).
    func confirmUnchanged(_ records: (keys: [[SQLValue]], digests: [[UInt8]]), children: [String]) throws -> [Int]
    /// Whether the whole page is still stored as it made it (then counted unchanged).
    func confirmUnchangedPage(children: [String]) throws -> Bool
}

extension PageWriter {
    public func write(_ rows: RowBatch) throws { try write(rows, children: [], rejects: []) }
}

/// Shorter forms of the requirements, for callers holding `any WorksheetStore` (each has
/// fewer parameters than the requirement it calls, so none can call itself).
extension WorksheetStore {
    @discardableResult
    public func migrate(_ worksheets: [WorksheetDefinition], captured: Set<String> = [],
                        pushJobs: [String: String] = [:]) throws(StoreError) -> SchemaPlan {
        try migrate(worksheets, allowDestructive: false, captured: captured, pushJobs: pushJobs)
    }

    public func finishRun(_ id: Int64, status: RunStatus, counts: WriteCounts, requests: Int) throws(StoreError) {
        try finishRun(id, status: status, counts: counts, requests: requests, errorCode: nil, errorMessage: nil, details: nil)
    }

    public func dueNotifications(now: String) throws(StoreError) -> [NotificationRecord] {
        try dueNotifications(now: now, limit: 100)
    }
}
