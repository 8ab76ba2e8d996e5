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

/// The heartbeat's thread: beats until stopped.
final class Heartbeat: @unchecked Sendable {
    private let database: any WorksheetStore
    private let interval: Duration
    private let logger: Logger
    private let tookOver: @Sendable ([String]) -> Void
    private let lock = NSLock()
    private var stopped = false

    init(database: any WorksheetStore, interval: Duration, logger: Logger, tookOver: @escaping @Sendable ([String]) -> Void) {
        self.database = database
        self.interval = interval
        self.logger = logger
        self.tookOver = tookOver
    }

    private var isStopped: Bool { lock.withLock { stopped } }

    func start() {
        let seconds = Double(interval.components.seconds) + Double(interval.components.attoseconds) / 1e18
        let thread = Thread { [self] in
            while !isStopped {
                do {
                    let taken = try database.heartbeat()
                    if !taken.isEmpty { tookOver(taken) }
                } catch {
                    logger.error("heartbeat failed: \((error as? StoreError)?.message ?? "\(error)")")
                }
                Thread.sleep(forTimeInterval: seconds)
            }
        }
        thread.name = "sheetsync-heartbeat"
        thread.start()
    }

    func stop() { lock.withLock { stopped = true } }
}
