import Foundation
import Logging
import SheetSyncCore
import SheetSyncFiles
import SheetSyncHTTP
import SheetSyncRunner
import SheetSyncSchedule
import SheetSyncStore

/// The state `sheetsync serve` shares between the scheduler, the push loop, the
/// reloader and the HTTP endpoints: the current project and a runner for it.
public actor Daemon: ScheduleDelegate {
    public static let lastTickKey = "schedule.last_tick"

    public private(set) var project: Project
    public let database: any WorksheetStore
    public let transport: HTTPTransport
    /// Set on shutdown: runs in flight stop after the page being written, none start.
    public let stopRequest = RunStopRequest()
    let logger: Logger
    let defaultZone: TimeZone
    private let limit: Int
    private var active = 0
    private var waiters: [CheckedContinuation<Void, Never>] = []
    /// Pull jobs this process is running, on a database several nodes share.
    private var runningHere: Set<String> = []
    /// Push jobs with a pass in flight: a job never runs two passes at once.
    private var pushing: Set<String> = []
    /// Push jobs with a delivery loop in the push loop (`PushLoop`).
    private var pushLoops: Set<String> = []
    /// Wakes push loops when their worksheet changes (PostgreSQL; `ListenService`).
    public nonisolated let signals = ChangeSignals()
    /// What `/metrics` serves (swift-metrics into a Prometheus registry of its own).
    public nonisolated let metrics = DaemonMetrics()
    /// Why the daemon stopped by itself, if it did (the database file removed under it).
    public private(set) var failure: DaemonError?
    /// Called once when `failure` is set: the session shuts down.
    private var onFailure: (@Sendable () async -> Void)?

    public init(project: Project, database: any WorksheetStore, transport: HTTPTransport, logger: Logger, maxConcurrent: Int) {
        self.project = project
        self.database = database
        self.transport = transport
        self.logger = logger
        self.limit = max(1, maxConcurrent)
        self.defaultZone = project.settings.timezone.flatMap(TimeZone.init(identifier:)) ?? TimeZone(identifier: "UTC")!
    }

    var runner: JobRunner { JobRunner(project: project, database: database, transport: transport, logger: logger, stop: stopRequest) }

    /// Schedule entries for the scheduled pull jobs.
    public func entries() -> [ScheduleEntry] {
        project.jobs.compactMap { job in
            guard case .pull = job.kind, let text = job.schedule, let cron = try? CronExpression(parsing: text) else { return nil }
            let zone = job.timezone.flatMap(TimeZone.init(identifier:)) ?? defaultZone
            return ScheduleEntry(job: job.name, cron: cron, zone: zone, overlap: job.overlap, missed: job.missed, maxCatchup: job.maxCatchup)
        }
    }

    /// Takes a reloaded project. Jobs whose file now has errors keep their previous
    /// definition, so a typo never stops a running schedule.
    public func replace(with loaded: Project) -> [String] {
        var merged = loaded
        var kept: [String] = []
        let broken = Set(loaded.errors.map(\.file))
        for old in project.jobs where broken.contains(old.file) && loaded.job(named: old.name) == nil {
            merged.jobs.append(old)
            kept.append(old.name)
        }
        if loaded.errors.contains(where: { $0.file.hasPrefix("schema/") || $0.file == "sheetsync.yml" }) {
            merged.worksheets = project.worksheets
            merged.settings = project.settings
        }
        merged.jobs.sort { $0.name < $1.name }
        project = merged
        return kept
    }

    // MARK: - ScheduleDelegate

    public func lastTick(of job: String) async -> Date? {
        guard let text = try? database.state(job: job)[Self.lastTickKey], let time = UTCDateTime(iso: text) else { return nil }
        return Date(timeIntervalSince1970: Double(time.seconds) + Double(time.nanoseconds) / 1e9)
    }

    public func record(tick: Date, of job: String) async {
        try? database.saveState([Self.lastTickKey: WorksheetDatabase.timestamp(tick)], job: job)
    }

    public func skipped(job: String, tick: Date) async {
        logger.info("skipped: the previous run is still going", metadata: ["job": "\(job)", "tick": "\(WorksheetDatabase.timestamp(tick))"])
        if let run = try? database.beginRun(job: job, trigger: .schedule) {
            try? database.finishRun(run, status: .skipped, counts: WriteCounts(), requests: 0, errorCode: nil,
                                    errorMessage: "tick \(WorksheetDatabase.timestamp(tick)) skipped: the previous run was still going (overlap: skip)", details: nil)
        }
        metrics.skipped(job: job)
    }

    public func run(job name: String, tick: Date, catchUp: Bool) async {
        guard let job = project.job(named: name), !stopRequest.isRequested else { return }
        // How late the tick fired (a catch-up run of a missed tick is late on purpose).
        if !catchUp { metrics.lateness(seconds: Date().timeIntervalSince(tick)) }
        await acquire()
        // A run waiting for its turn when the shutdown came does not start (catch-up runs neither).
        guard !stopRequest.isRequested, databaseIsInPlace() else { return release() }
        // Several nodes on one database: the fire runs on the node that claims it first —
        // claimed once this node has a free slot, so a busy node leaves it to an idle one.
        if database.sharesWork {
            do {
                guard try database.claimFire(job: name, tick: WorksheetDatabase.timestamp(tick)) else {
                    logger.debug("fire taken by another node", metadata: ["job": "\(name)", "tick": "\(WorksheetDatabase.timestamp(tick))"])
                    return release()
                }
            } catch {
                logger.error("could not claim the fire; not run", metadata: ["job": "\(name)", "error": "\(error.message)"])
                return release()
            }
        }
        await runNow(job, trigger: .schedule, catchUp: catchUp, tick: tick)
        release()
    }

    /// Runs `job` here, holding its lock on a shared database: a run of it going on on
    /// another node makes this fire a skipped one (the overlap rule, across nodes).
    private func runNow(_ job: JobDefinition, trigger: RunTrigger, catchUp: Bool, tick: Date) async {
        let name = job.name
        let lock = WorkLock.pull(name)
        if database.sharesWork {
            // PostgreSQL's advisory locks are re-entrant within a session, so a run of the job
            // in this process (a takeover beside a scheduled run) is excluded here.
            guard !runningHere.contains(name), (try? database.tryLock(lock)) == true else {
                await skipped(job: name, tick: tick)
                return
            }
            runningHere.insert(name)
        }
        defer {
            if database.sharesWork {
                runningHere.remove(name)
                try? database.unlock(lock)
            }
        }
        let runner = self.runner
        logger.info("run started", metadata: ["job": "\(name)", "trigger": "\(trigger.rawValue)", "catch_up": "\(catchUp)"])
        let summary = await runner.run(job, trigger: trigger)
        let seconds = summary.duration / .seconds(1)
        logger.info("run finished", metadata: [
            "job": "\(name)", "trigger": "\(trigger.rawValue)", "status": "\(summary.status.rawValue)", "duration_s": "\(String(format: "%.3f", seconds))",
            "inserted": "\(summary.counts.inserted)", "updated": "\(summary.counts.updated)", "unchanged": "\(summary.counts.unchanged)",
            "skipped": "\(summary.counts.skipped)", "rejected": "\(summary.counts.rejectedTotal)",
        ])
        metrics.runFinished(job: name, summary: summary)
    }

    /// Runs again, now, the jobs whose runs this node took over from a node that stopped
    /// heartbeating (`SharedWork.heartbeat`); each resumes where the other stopped.
    func takeOver(_ jobs: [String]) async {
        for name in Set(jobs).sorted() {
            guard let job = project.job(named: name), case .pull = job.kind, !stopRequest.isRequested else { continue }
            logger.notice("taking over: a node stopped heartbeating during a run of this job", metadata: ["job": "\(name)"])
            Task {
                // First in the queue for a slot: the dead node's run was going already, and a
                // busy node would otherwise make it wait behind every fire due meanwhile.
                await acquire(first: true)
                guard !stopRequest.isRequested else { return release() }
                await runNow(job, trigger: .takeover, catchUp: false, tick: Date())
                release()
            }
        }
    }

    private var notifying = false

    /// Sends the failure notifications that are due (retries of ones that failed), one
    /// pass at a time; the push loop asks every second.
    public func sendNotifications() async {
        guard !notifying, !stopRequest.isRequested else { return }
        notifying = true
        let runner = self.runner
        await runner.sendDueNotifications()
        notifying = false
    }

    /// Push jobs whose delivery loop is running, by name.
    public var pushLoopJobs: [String] { pushLoops.sorted() }

    /// Push jobs that have no delivery loop yet, now marked as having one; the push loop
    /// starts one for each.
    func claimPushLoops() -> [String] {
        project.jobs.compactMap { job in
            guard case .push = job.kind, pushLoops.insert(job.name).inserted else { return nil }
            return job.name
        }
    }

    /// Called by a job's delivery loop that ends on shutdown (a loop whose job is gone
    /// was ended by `push(job:)` already).
    func endPushLoop(of job: String) {
        pushLoops.remove(job)
    }

    /// One push pass of `name` with its current definition, unless a pass of it is
    /// already in flight. Returns false when `name` is no longer a push job of the
    /// project, and marks its loop ended in the same step, so that a job added again
    /// right away gets a new loop.
    ///
    /// The pass runs off the actor: passes of different jobs run at the same time.
    public func push(job name: String) async -> Bool {
        guard let job = project.job(named: name), case .push = job.kind else {
            pushLoops.remove(name)
            return false
        }
        guard databaseIsInPlace(), pushing.insert(name).inserted else { return true }
        // Several nodes push the same job at once: each claims the deliveries it sends
        // (`beginAttempts`, SKIP LOCKED on PostgreSQL), so none is sent by two live nodes.
        let summary = await runner.push(job, trigger: .schedule)
        pushing.remove(name)
        if summary.delivered + summary.failed > 0 || summary.error != nil || summary.disabled != nil {
            logger.info("push finished", metadata: ["job": "\(name)", "delivered": "\(summary.delivered)",
                                                    "failed": "\(summary.failed)", "pending": "\(summary.pending)"])
        }
        return true
    }

    /// The worksheet a push job reads (for `signals`), nil when it is no push job.
    func worksheet(ofPushJob name: String) -> String? {
        guard let job = project.job(named: name), case .push = job.kind else { return nil }
        return job.worksheet
    }

    /// How long a push loop that listens for changes waits after a pass when no change
    /// comes: until the job's next retry is due, at least `shortest` (a pass skipped while
    /// another node delivers the job must not spin), at most `longest` (a lost notification
    /// is found then).
    func quietWait(job: String, shortest: Duration, longest: Duration) -> Duration {
        guard let next = try? database.nextDueTime(job: job) else { return longest }
        return min(longest, max(shortest, JobRunner.duration(until: next)))
    }

    func setFailureHandler(_ handler: @escaping @Sendable () async -> Void) {
        onFailure = handler
    }

    /// False when the database file is no longer the one at its path (removed or replaced
    /// while the daemon ran): the daemon then stops with that error (`failure`) instead of
    /// reporting runs into a file nobody can open.
    func databaseIsInPlace() -> Bool {
        do {
            try database.checkInPlace()
            return true
        } catch {
            if failure == nil {
                failure = DaemonError(.databaseGone, error.message, underlying: error)
                stopRequest.request()
                if let onFailure { Task { await onFailure() } }
            }
            return false
        }
    }

    /// A run slot (`--max-concurrent`); waits in line for one, at its front when `first`.
    private func acquire(first: Bool = false) async {
        if active < limit {
            active += 1
            return
        }
        await withCheckedContinuation { waiter in
            if first { waiters.insert(waiter, at: 0) } else { waiters.append(waiter) }
        }
    }

    private func release() {
        if waiters.isEmpty {
            active -= 1
        } else {
            waiters.removeFirst().resume()
        }
    }
}
