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
                                              windows: windows, restart: restart)
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
                report.rows += rows
                report.elapsed = ContinuousClock.now - started
                report.last = (window, summary)
                progress(report)
                launch()
            }
        }
        try database.finishBackfillIfComplete(plan.id)
        return report
    }
}
