import Logging
import ServiceLifecycle
import SheetSyncStore

/// On a database several nodes share (PostgreSQL): says every `interval` (2 s) that this
/// node is alive, and runs again the jobs whose runs it took over from a node that stopped
/// heartbeating (`SharedWork.heartbeat`). The heartbeat uses its own connection, so a page
/// being written does not delay it.
struct NodeService: Service {
    let daemon: Daemon
    let interval: Duration
    let clock: ContinuousClock
    let logger: Logger

    func run() async throws {
        // Returns (not throws) on shutdown: a throwing service would cancel the whole group.
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await beat()
                try? await clock.sleep(for: interval)
            }
        }
    }

    func beat() async {
        do {
            let taken = try daemon.database.heartbeat()
            if !taken.isEmpty { await daemon.takeOver(taken) }
        } catch {
            logger.error("heartbeat failed: \(error.message)")
        }
    }
}
