import Logging
import ServiceLifecycle
import SheetSyncCore
import SheetSyncRunner
import SheetSyncSchedule

/// Runs the scheduler until graceful shutdown; then asks runs in flight to stop after the
/// page being written, and waits up to `grace` for them (then cuts them short).
struct SchedulerService: Service {
    let scheduler: JobScheduler
    let stop: RunStopRequest
    let grace: Duration
    let logger: Logger

    func run() async throws {
        let loop = Task { await scheduler.run() }
        try? await gracefulShutdown()
        stop.request()
        logger.info("stopping: no new runs; runs in flight stop after the page being written (waiting up to \(DurationText.format(grace)))")
        await scheduler.stop(grace: grace)
        loop.cancel()
        await loop.value
    }
}
