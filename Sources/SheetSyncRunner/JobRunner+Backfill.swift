import Crypto
import Foundation
import SheetSyncCore
import SheetSyncStore

/// Progress of a backfill, reported after each window.
public struct BackfillReport: Sendable {
    public var total: Int
    public var done: Int
    public var failed: Int
    public var rows: Int
    public var elapsed: Duration
    /// The window that just finished, and its summary.
    public var last: (window: BackfillWindow, summary: RunSummary)?
    public var resumed: Bool
    /// Set when a window failed for a cause no window can escape (credentials refused, the
    /// API unreachable, the job itself): no further window was started, and this is its error.
    public var stoppedEarly: String?
}

extension JobRunner {
    /// Runs `job` once per window of `[from, to)`, up to `concurrency` windows at once.
    ///
    /// Each window is a run with trigger `backfill` and `{{window.start}}` /
    /// `{{window.end}}` set; it keeps no resume state and never moves the job's
    /// incremental cursor, so a scheduled run of the same job can go on alongside.
    /// Finished windows are recorded, so the same backfill run again does only the windows
    /// still to do — none, once it has completed — and `restart` starts over.
    public func backfill(_ job: JobDefinition, windows: [BackfillWindow], from: String, to: String, step: String,
                         timezone: String, concurrency: Int, restart: Bool, params: [String: String] = [:],
                         progress: @Sendable (BackfillReport) -> Void) async throws(StoreError) -> BackfillReport {
        guard let database else { throw StoreError(.cannotOpen, "no database is open") }
        let plan = try database.startBackfill(job: job.name, from: from, to: to, step: step, timezone: timezone,
                                              params: Self.backfillIdentity(params), windows: windows, restart: restart)
        let started = ContinuousClock.now
        var report = BackfillReport(total: plan.windows.count, done: plan.windows.filter(\.done).count, failed: 0, rows: 0,
                                    elapsed: .zero, last: nil, resumed: plan.resumed)
        let pending = plan.windows.filter { !$0.done }
        progress(report)
        await withTaskGroup(of: (Int, BackfillWindow, RunSummary).self) { group in
            var next = 0
            func launch() {
                guard next < pending.count else { return }
                let item = pending[next]
                next += 1
                group.addTask {
                    (item.position, item.window, await self.run(job, params: params, trigger: .backfill, window: item.window))
                }
            }
            for _ in 0..<max(1, concurrency) { launch() }
            while let (position, window, summary) = await group.next() {
                let rows = summary.counts.inserted + summary.counts.updated
                let succeeded = summary.status != .failed
                try? database.finishWindow(backfill: plan.id, position: position, succeeded: succeeded, run: summary.run, rows: rows)
                if succeeded { report.done += 1 } else { report.failed += 1 }
                if !succeeded, summary.failsEveryWindow, report.stoppedEarly == nil {
                    // Fail fast: a wrong token or an unreachable API would fail every window the
                    // same way (48 failed runs for one cause). Windows in flight finish; a
                    // failure of one window's data (a 500, a bad page) lets the others go on.
                    report.stoppedEarly = summary.errorMessage ?? "the window failed"
                }
                report.rows += rows
                report.elapsed = ContinuousClock.now - started
                report.last = (window, summary)
                progress(report)
                if report.stoppedEarly == nil { launch() }
            }
        }
        try database.finishBackfillIfComplete(plan.id)
        return report
    }

    /// What would fail every window of a backfill of `job` before one runs: a value its
    /// requests need that is not set (a secret, an env value, a param), as the error a run
    /// would give. Nil when each window can start.
    public func backfillProblem(_ job: JobDefinition, params: [String: String], window: BackfillWindow) -> String? {
        guard let (values, redactor) = try? values(for: job, params: params, window: window) else { return nil }
        for reference in job.allTemplates.flatMap(\.references) where [.env, .secret, .param, .window].contains(reference.source) {
            do {
                _ = try values.value(of: reference)
            } catch {
                return redactor.redact(error.message)
            }
        }
        return nil
    }

    /// What a backfill's `--param` values add to its identity: '' for none, otherwise a
    /// SHA-256 of the names and values in order (the values themselves are not recorded).
    static func backfillIdentity(_ params: [String: String]) -> String {
        guard !params.isEmpty else { return "" }
        let text = params.sorted { $0.key < $1.key }.map { "\($0.key.utf8.count):\($0.key)=\($0.value.utf8.count):\($0.value)" }.joined(separator: "\n")
        return SHA256.hash(data: Array(text.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// Whether any request of `job` uses `{{window.…}}`: without, every window of a backfill
    /// sends the same requests.
    public static func usesWindow(_ job: JobDefinition) -> Bool {
        job.allTemplates.flatMap(\.references).contains { $0.source == .window }
    }
}

extension RunSummary {
    /// Whether the run failed for a cause that is not about its window or its data: the
    /// credentials (401, 403, 407), the connection (refused, DNS, TLS), the request or the
    /// job itself. Every window of a backfill would fail the same way.
    public var failsEveryWindow: Bool {
        guard status == .failed else { return false }
        // The status as a number: the recorded code may be the server's own (`request.error`).
        if let errorStatus, [401, 403, 407].contains(errorStatus) { return true }
        guard let code = errorCode else { return false }
        return ["connection", "tls", "invalid_request", "refused_url", "proxy_authentication", "invalid_job"].contains(code)
    }
}
