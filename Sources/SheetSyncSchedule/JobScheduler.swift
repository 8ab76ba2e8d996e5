import Foundation
import SheetSyncCore

/// One job's schedule as the scheduler needs it.
public struct ScheduleEntry: Sendable {
    public var job: String
    public var cron: CronExpression
    public var zone: TimeZone
    public var overlap: OverlapPolicy
    public var missed: MissedPolicy
    public var maxCatchup: Int

    public init(job: String, cron: CronExpression, zone: TimeZone, overlap: OverlapPolicy = .skip,
                missed: MissedPolicy = .once, maxCatchup: Int = 100) {
        self.job = job
        self.cron = cron
        self.zone = zone
        self.overlap = overlap
        self.missed = missed
        self.maxCatchup = maxCatchup
    }
}

/// What the scheduler asks of the rest of the program.
public protocol ScheduleDelegate: Sendable {
    /// The last tick that was run (or skipped) for `job`, as stored.
    func lastTick(of job: String) async -> Date?
    /// Stores the tick, so a restart knows what was missed.
    func record(tick: Date, of job: String) async
    /// Runs the job once; returns when the run is over.
    func run(job: String, tick: Date, catchUp: Bool) async
    /// A tick that did not run because the previous run was still going (`overlap: skip`).
    func skipped(job: String, tick: Date) async
}

/// Runs jobs on their schedules: one tick at a time per job, with the overlap and
/// missed-run policies, against an injected clock.
public actor JobScheduler {
    private let clock: any SchedulerClock
    private let delegate: any ScheduleDelegate
    private var entries: [String: ScheduleEntry] = [:]
    private var nextFire: [String: Date] = [:]
    private var running: [String: Int] = [:]
    private var queued: Set<String> = []
    private var inFlight: [UUID: Task<Void, Never>] = [:]
    private var stopping = false
    private let startedAt: Date
    /// How late each start was (milliseconds), for /metrics.
    public private(set) var lateness: [Double] = []

    /// - Parameter anchor: where `@every` intervals count from; nil: the scheduler's start
    ///   (one daemon: its first run comes one interval after it starts). Daemons that share
    ///   a database pass the Unix epoch, so that every node computes the same fire times —
    ///   the key each fire is claimed by.
    public init(clock: any SchedulerClock, delegate: any ScheduleDelegate, anchor: Date? = nil) {
        self.clock = clock
        self.delegate = delegate
        self.startedAt = anchor ?? clock.now()
    }

    /// Replaces the schedule (on start and on reload). Jobs that stay keep their next tick.
    public func update(_ newEntries: [ScheduleEntry]) {
        let now = clock.now()
        var next: [String: Date] = [:]
        for entry in newEntries {
            if let known = nextFire[entry.job], entries[entry.job]?.cron == entry.cron {
                next[entry.job] = known
            } else if let date = entry.cron.nextDate(after: now, in: entry.zone, anchor: startedAt) {
                next[entry.job] = date
            }
        }
        entries = Dictionary(uniqueKeysWithValues: newEntries.map { ($0.job, $0) })
        nextFire = next
    }

    /// The next tick of each job, for `/status`.
    public func upcoming() -> [String: Date] { nextFire }

    /// Runs missed ticks per each job's `missed` policy, then fires ticks until `stop()`.
    public func run() async {
        await catchUp()
        while !stopping {
            guard let (job, due) = nextFire.min(by: { $0.value < $1.value }) else {
                try? await clock.sleep(until: clock.now().addingTimeInterval(1))
                continue
            }
            // Wake at least every second so reloads and stops are noticed.
            let wake = min(due, clock.now().addingTimeInterval(1))
            try? await clock.sleep(until: wake)
            if stopping { break }
            guard clock.now() >= due, nextFire[job] == due, let entry = entries[job] else { continue }
            nextFire[job] = entry.cron.nextDate(after: due, in: entry.zone, anchor: startedAt)
            lateness.append(max(0, clock.now().timeIntervalSince(due) * 1000))
            if lateness.count > 10_000 { lateness.removeFirst(lateness.count - 10_000) }
            fire(entry, tick: due)
        }
    }

    /// Starts (or skips, or queues) a tick without waiting for anything: recording the
    /// tick and the run happen in the run's own task, so fifty jobs due at the same
    /// second all start on time.
    private func fire(_ entry: ScheduleEntry, tick: Date) {
        let delegate = self.delegate
        if (running[entry.job] ?? 0) > 0 {
            switch entry.overlap {
            case .skip:
                Task {
                    await delegate.record(tick: tick, of: entry.job)
                    await delegate.skipped(job: entry.job, tick: tick)
                }
                return
            case .queue:
                queued.insert(entry.job)
                Task { await delegate.record(tick: tick, of: entry.job) }
                return
            case .allow:
                break
            }
        }
        launch(entry.job, tick: tick, catchUp: false, recordTick: true)
    }

    private func launch(_ job: String, tick: Date, catchUp: Bool, ticks: [Date] = [], recordTick: Bool = false) {
        running[job, default: 0] += 1
        let id = UUID()
        let delegate = self.delegate
        inFlight[id] = Task {
            if recordTick { await delegate.record(tick: tick, of: job) }
            if ticks.isEmpty {
                await delegate.run(job: job, tick: tick, catchUp: catchUp)
            } else {
                for missed in ticks where !Task.isCancelled { await delegate.run(job: job, tick: missed, catchUp: true) }
            }
            await self.finished(job, id: id)
        }
    }

    private func finished(_ job: String, id: UUID) {
        running[job, default: 1] -= 1
        inFlight[id] = nil
        if queued.contains(job), !stopping {
            queued.remove(job)
            launch(job, tick: clock.now(), catchUp: false)
        }
    }

    /// Ticks that passed since each job's last recorded tick.
    private func catchUp() async {
        let now = clock.now()
        for entry in entries.values.sorted(by: { $0.job < $1.job }) {
            guard let last = await delegate.lastTick(of: entry.job) else { continue }
            let missed = entry.cron.dates(after: last, through: now, in: entry.zone, anchor: startedAt, limit: entry.maxCatchup + 1)
            guard let newest = missed.last else { continue }
            await delegate.record(tick: newest, of: entry.job)
            let runs = entry.missed.catchUpRuns(missed: missed.count, cap: entry.maxCatchup)
            guard runs > 0 else { continue }
            launch(entry.job, tick: newest, catchUp: true, ticks: Array(missed.suffix(runs)))
        }
    }

    /// Stops firing new ticks; runs in flight get `grace` to finish, then are cancelled.
    public func stop(grace: Duration) async {
        stopping = true
        queued.removeAll()
        clock.wakeSleepers()
        let tasks = Array(inFlight.values)
        let deadline = ContinuousClock.now + grace
        for task in tasks {
            while !task.isCancelled, ContinuousClock.now < deadline, inFlight.values.contains(where: { $0 == task }) {
                try? await Task.sleep(for: .milliseconds(20))
            }
        }
        for task in inFlight.values { task.cancel() }
        for task in tasks { await task.value }
    }

    /// Cuts runs in flight short now instead of at the end of `stop(grace:)`'s grace period
    /// (a second SIGINT or SIGTERM).
    public func cancelRuns() {
        for task in inFlight.values { task.cancel() }
    }

    /// Jobs with a run in progress.
    public func runningJobs() -> [String: Int] { running.filter { $0.value > 0 } }
}
