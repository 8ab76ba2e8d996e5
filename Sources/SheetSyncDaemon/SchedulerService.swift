import Logging
import ServiceLifecycle
import SheetSyncCore
import SheetSyncSchedule

/// Runs the scheduler until graceful shutdown, then lets runs in flight finish.
struct SchedulerService: Service {
    let scheduler: JobScheduler
    let grace: Duration
    let logger: Logger

    func run() async throws {
        let loop = Task { await scheduler.run() }
        try? await gracefulShutdown()
        logger.info("stopping: no new runs; waiting up to \(DurationText.format(grace)) for runs in flight")
        await scheduler.stop(grace: grace)
        loop.cancel()
        await loop.value
    }
}
