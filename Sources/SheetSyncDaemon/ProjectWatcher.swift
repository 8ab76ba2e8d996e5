import Foundation
import Logging
import ServiceLifecycle
import SheetSyncFiles
import SheetSyncSchedule
import SheetSyncStore
import UnixSignals

/// Reloads the project when its files change (polled every `interval`, 2 s in
/// `sheetsync serve`) or on SIGHUP.
struct ProjectWatcher: Service {
    let directory: URL
    let daemon: Daemon
    let scheduler: JobScheduler
    let database: any WorksheetStore
    let logger: Logger
    let interval: Duration
    let clock: ContinuousClock
    /// SIGHUP, trapped before the service group starts so an early signal is not fatal;
    /// nil when the daemon leaves signals alone (in-process tests).
    let hangups: UnixSignalsSequence?

    func fingerprint() -> String {
        var parts: [String] = []
        for folder in ["", "jobs", "schema"] {
            let url = directory.appendingPathComponent(folder)
            let names = (try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? []
            for name in names.sorted() where name.hasSuffix(".yml") || name.hasSuffix(".yaml") {
                let attributes = try? FileManager.default.attributesOfItem(atPath: url.appendingPathComponent(name).path)
                let modified = (attributes?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
                parts.append("\(folder)/\(name):\(modified):\(attributes?[.size] ?? 0)")
            }
        }
        return parts.joined(separator: "|")
    }

    func run() async throws {
        let hangupFlag = HangupFlag()
        let hangups = self.hangups
        let listener = Task {
            guard let hangups else { return }
            for await _ in hangups { await hangupFlag.set() }
        }
        defer { listener.cancel() }
        let initial = fingerprint()
        try? await cancelWhenGracefulShutdown {
            var last = initial
            while !Task.isCancelled {
                try await clock.sleep(for: interval)
                let current = fingerprint()
                let hangup = await hangupFlag.take()
                guard current != last || hangup else { continue }
                last = current
                await reload(reason: hangup ? "SIGHUP" : "files changed")
            }
        }
    }

    func reload(reason: String) async {
        let loaded = ProjectLoader.load(directory: directory, checkCondition: WorksheetDatabase.conditionProblem)
        for diagnostic in loaded.errors { logger.error("\(diagnostic.description)") }
        let kept = await daemon.replace(with: loaded)
        let project = await daemon.project
        do {
            try database.migrate(project.worksheets, captured: project.capturedWorksheets, pushJobs: project.pushJobWorksheets)
        } catch {
            logger.error("schema not applied: \(error.message)")
        }
        await scheduler.update(await daemon.entries())
        logger.info("reloaded", metadata: ["reason": "\(reason)", "jobs": "\(project.jobs.count)",
                                           "kept_previous": "\(kept.joined(separator: ","))"])
    }
}

/// Set by SIGHUP, taken by the next poll.
actor HangupFlag {
    private var raised = false
    func set() { raised = true }
    func take() -> Bool {
        defer { raised = false }
        return raised
    }
}
