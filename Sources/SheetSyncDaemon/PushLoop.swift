import ServiceLifecycle

/// Delivers push jobs' changes every `interval` (a second in `sheetsync serve`) until shutdown.
struct PushLoop: Service {
    let daemon: Daemon
    let interval: Duration
    let clock: ContinuousClock

    func run() async throws {
        // Returns (not throws) on shutdown: a throwing service would cancel the whole group.
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await daemon.pushAll()
                try await clock.sleep(for: interval)
            }
        }
    }
}
