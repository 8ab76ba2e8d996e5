import Logging
import ServiceLifecycle
import SheetSyncStore

/// Listens for captured changes where the database can say (PostgreSQL: `LISTEN
/// sheetsync_outbox`) and wakes the push loops (`ChangeSignals`). A lost connection is
/// listened to again after 5 s; meanwhile the loops poll every second, as on SQLite.
struct ListenService: Service {
    let daemon: Daemon
    let logger: Logger

    func run() async throws {
        // Returns (not throws) on shutdown: a throwing service would cancel the whole group.
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                guard let changes = daemon.database.changeNotifications() else { return }
                do {
                    for try await worksheet in changes {
                        // The first element (an empty name) says the LISTEN is in place.
                        if worksheet.isEmpty {
                            logger.info("listening for changes: push jobs wake when a change is captured")
                            await daemon.signals.setListening(true)
                        } else {
                            await daemon.signals.notify(worksheet)
                        }
                    }
                } catch {
                    if !Task.isCancelled {
                        logger.warning("listening for changes stopped: \(error); push jobs poll every second until it is back")
                    }
                }
                await daemon.signals.setListening(false)
                try? await Task.sleep(for: .seconds(5))
            }
        }
    }
}
