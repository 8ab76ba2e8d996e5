import SheetSyncCore

/// What `sheetsync serve` needs of the database beyond jobs: counts for `/metrics` and
/// `/status`, retention, and — on a database several daemons share — who does which work.
///
/// An SQLite file is run by one daemon (its `.lock` file), so there every claim succeeds
/// (`WorksheetDatabase+Store`). On PostgreSQL several `serve` processes ("nodes") share one
/// database (`PostgresStore+Nodes`): each scheduled fire is claimed once, a job runs on one
/// node at a time, every node heartbeats, and a node that stops heartbeating loses its runs.
public protocol SharedWork: AnyObject, Sendable {
    func deliveryCounts() throws(StoreError) -> [(job: String, state: String, count: Int)]
    /// Pending deliveries per job that have been tried at least once.
    func retryingCounts() throws(StoreError) -> [String: Int]
    func requestStatusCounts() throws(StoreError) -> [(job: String, status: String, count: Int)]
    func requestStats() throws(StoreError) -> [(job: String, count: Int, milliseconds: Int)]
    /// Removes ledger rows older than `retention` says (see `WorksheetDatabase.prune`).
    func prune(_ retention: RetentionSettings, dryRun: Bool) throws(StoreError) -> [PruneResult]
    /// Throws when the database is no longer the one the daemon opened (an SQLite file
    /// removed or replaced under it); the daemon then stops.
    func checkInPlace() throws(StoreError)

    /// Whether several daemons may share this database's work (then `DatabaseLock` is not used).
    var sharesWork: Bool { get }
    /// Claims the scheduled fire of `job` at `tick` (`WorksheetDatabase.timestamp`) for this
    /// process; false when another node claimed it first.
    func claimFire(job: String, tick: String) throws(StoreError) -> Bool
    /// Takes the lock named `name` for this process unless another holds it; a process that
    /// dies loses its locks at once (its connection closes). A run of a job whose lock
    /// (`WorkLock.pull`) this process holds when it begins is fenced by it: should the lock
    /// be lost (the connection holding it dropped), the run's next page is refused with
    /// `StoreError.Code.lostClaim` and the run stops, as another node may now run the job.
    func tryLock(_ name: String) throws(StoreError) -> Bool
    func unlock(_ name: String) throws(StoreError)
    /// Says this node is alive, and, `takingOver`, marks `interrupted` the runs of nodes that
    /// stopped heartbeating (`NodeRecord.deadAfterSeconds`); returns the jobs of the runs this
    /// call marked, for this node to run again (a paginated run resumes at its first page not
    /// written). A `sheetsync push` by hand beats without taking over: it runs no jobs again.
    func heartbeat(takingOver: Bool) throws(StoreError) -> [String]
    /// The nodes that share the database, and what each runs.
    func nodes() throws(StoreError) -> [NodeRecord]
    /// This node stops (a graceful shutdown): its row goes.
    func leave() throws(StoreError)
    /// The names of worksheets as changes to them are captured (by any writer), on a
    /// connection of its own; nil where the database cannot tell (SQLite: push jobs poll).
    /// The first element is an empty name, once the listening is in place (changes captured
    /// before it are not announced). The sequence ends, or throws, when that connection is
    /// lost: listen again.
    func changeNotifications() -> AsyncThrowingStream<String, any Error>?
}

/// The names of the locks nodes take (`SharedWork.tryLock`).
public enum WorkLock {
    /// Held by the node running a pull job, for the whole run: one run of a job at a time
    /// across the nodes. On PostgreSQL each page of the run commits only while the lock is
    /// still held (`PostgresStore.writeInParts`).
    public static func pull(_ job: String) -> String { "pull:" + job }
}

/// One `sheetsync serve` sharing a database, as `_sheetsync_nodes` records it.
public struct NodeRecord: Sendable, Equatable {
    /// How often a node heartbeats, and after how long without one it counts as dead.
    public static let heartbeatSeconds = 2
    public static let deadAfterSeconds = 10

    public var id: String
    public var host: String
    public var pid: Int
    public var startedAt: String
    public var heartbeatAt: String
    /// Seconds since its last heartbeat, by the database's clock.
    public var secondsSinceHeartbeat: Double
    /// Jobs it has a run of in progress.
    public var running: [String]

    public init(id: String, host: String, pid: Int, startedAt: String, heartbeatAt: String, secondsSinceHeartbeat: Double, running: [String]) {
        self.id = id
        self.host = host
        self.pid = pid
        self.startedAt = startedAt
        self.heartbeatAt = heartbeatAt
        self.secondsSinceHeartbeat = secondsSinceHeartbeat
        self.running = running
    }

    public var isAlive: Bool { secondsSinceHeartbeat <= Double(Self.deadAfterSeconds) }
}
