import ServiceLifecycle

/// Delivers push jobs' changes until shutdown: one loop per push job, each pushing every
/// `interval` (a second in `sheetsync serve`), so an endpoint that hangs holds up only its
/// own job.
///
/// Every `interval` the loop starts a delivery loop for each push job that has none
/// (jobs added by a reload); a job's loop ends when the job is no longer a push job of
/// the project (removed by a reload). On graceful shutdown every loop is cancelled: a
/// request in flight is cut short, and its pass records the outcome (to be retried)
/// before the service returns.
struct PushLoop: Service {
    let daemon: Daemon
    let interval: Duration
    let clock: ContinuousClock

    func run() async throws {
        // Returns (not throws) on shutdown: a throwing service would cancel the whole group.
        await cancelWhenGracefulShutdown {
            // The group waits for every job's loop, so a pass cut short by the shutdown
            // finishes its bookkeeping before `run()` returns.
            await withDiscardingTaskGroup { group in
                while !Task.isCancelled {
                    for job in await daemon.claimPushLoops() {
                        group.addTask { await deliver(job) }
                    }
                    // Failure notifications whose retry came due (those of runs go at once).
                    group.addTask { await daemon.sendNotifications() }
                    try? await clock.sleep(for: interval)
                }
            }
        }
    }

    /// The longest a loop that listens for changes waits without one (a notification lost
    /// with a connection is found then).
    static let quietLongest: Duration = .seconds(30)

    /// One job's loop: a pass, then `interval` — or, while the database announces changes
    /// (`ChangeSignals`), until a change of the job's worksheet, its next retry or 30 s —
    /// until the job is gone or shutdown. No pass starts once shutdown has begun (it would
    /// only make attempts that fail).
    private func deliver(_ job: String) async {
        while !Task.isCancelled {
            let worksheet = await daemon.worksheet(ofPushJob: job) ?? ""
            let seen = await daemon.signals.generation(of: worksheet)
            guard await daemon.push(job: job) else { break }
            if await daemon.signals.isListening {
                let wait = await daemon.quietWait(job: job, shortest: interval, longest: Self.quietLongest)
                let wake = await daemon.signals.wait(for: worksheet, after: seen, timeout: wait)
                daemon.metrics.pushWakeup(cause: wake.rawValue)
            } else {
                try? await clock.sleep(for: interval)
            }
        }
        if Task.isCancelled { await daemon.endPushLoop(of: job) }
    }
}
