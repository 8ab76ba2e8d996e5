import Logging
import ServiceLifecycle
import SheetSyncStore

/// Keeps the database in order while the daemon runs, at start and every `interval` (an
/// hour in `sheetsync serve`): checks that the database file is still the one at its path,
/// marks runs whose process is gone `interrupted`, and applies `retention:` (as
/// `sheetsync prune` does).
struct MaintenanceService: Service {
    let daemon: Daemon
    let interval: Duration
    let clock: ContinuousClock
    let logger: Logger

    func run() async throws {
        // Returns (not throws) on shutdown: a throwing service would cancel the whole group.
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await maintain()
                try? await clock.sleep(for: interval)
            }
        }
    }

    /// One pass. Pruning runs off the daemon's actor (a first prune of a large ledger takes
    /// a while, a chunk of rows per transaction), so schedules and pushes go on meanwhile.
    func maintain() async {
        guard await daemon.databaseIsInPlace() else { return }
        let database = daemon.database
        let retention = await daemon.project.settings.retention
        do {
            let interrupted = try database.markInterruptedRuns()
            if interrupted > 0 { logger.notice("marked \(interrupted) run(s) interrupted: the process that ran them is gone") }
            let results = try database.prune(retention, dryRun: false)
            if results.contains(where: { $0.count > 0 }) {
                logger.info("pruned", metadata: Logger.Metadata(uniqueKeysWithValues: results.map { ($0.ledger, Logger.MetadataValue.string("\($0.count)")) }))
            }
        } catch {
            logger.error("retention not applied: \(error.message)")
        }
    }
}
