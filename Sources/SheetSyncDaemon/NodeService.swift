import Foundation
import Logging
import ServiceLifecycle
import SheetSyncStore

/// On a database several nodes share (PostgreSQL): says every `interval` (2 s) that this
/// node is alive, and runs again the jobs whose runs it took over from a node that stopped
/// heartbeating (`SharedWork.heartbeat`).
///
/// The heartbeat beats on a thread of its own, on its own connection: the store's calls
/// block the threads they run on, and a node whose few cooperative threads are all busy
/// with pages and deliveries is alive — taken for dead, its deliveries in flight would be
/// sent again by the others (seen under load: thousands of repeats).
struct NodeService: Service {
    let daemon: Daemon
    let interval: Duration
    let clock: ContinuousClock
    let logger: Logger

    func run() async throws {
        let beat = Heartbeat(database: daemon.database, interval: interval, logger: logger) { [daemon] taken in
            Task { await daemon.takeOver(taken) }
        }
        beat.start()
        // Returns (not throws) on shutdown: a throwing service would cancel the whole group.
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled { try? await clock.sleep(for: .seconds(3600)) }
        }
        beat.stop()
    }
}

/// The heartbeat's thread: beats until stopped. Also run by `sheetsync push` on a shared
/// database, without taking over (`takingOver: false`): a pass run by hand is then a node
/// while it runs, so the daemons leave the deliveries it has in flight alone.
public final class Heartbeat: @unchecked Sendable {
    private let database: any WorksheetStore
    private let interval: Duration
    private let takingOver: Bool
    private let logger: Logger
    private let tookOver: @Sendable ([String]) -> Void
    private let condition = NSCondition()
    private var stopped = false
    /// Whether no beat is going on or will: before `start`, and once the thread ends.
    private var finished = true

    public init(database: any WorksheetStore, interval: Duration, takingOver: Bool = true, logger: Logger,
                tookOver: @escaping @Sendable ([String]) -> Void = { _ in }) {
        self.database = database
        self.interval = interval
        self.takingOver = takingOver
        self.logger = logger
        self.tookOver = tookOver
    }

    public func start() {
        condition.withLock { finished = false }
        let seconds = Double(interval.components.seconds) + Double(interval.components.attoseconds) / 1e18
        let thread = Thread { [self] in
            while true {
                do {
                    let taken = try database.heartbeat(takingOver: takingOver)
                    if !taken.isEmpty { tookOver(taken) }
                } catch {
                    logger.error("heartbeat failed: \((error as? StoreError)?.message ?? "\(error)")")
                }
                condition.lock()
                if !stopped { _ = condition.wait(until: Date().addingTimeInterval(seconds)) }
                let stop = stopped
                condition.unlock()
                if stop { break }
            }
            condition.withLock { finished = true }
            condition.broadcast()
        }
        thread.name = "sheetsync-heartbeat"
        thread.start()
    }

    /// Stops the beats, and returns once the last one is over (so a `leave()` after it is
    /// not undone by a late beat).
    public func stop() {
        condition.lock()
        stopped = true
        condition.broadcast()
        while !finished { condition.wait() }
        condition.unlock()
    }
}
