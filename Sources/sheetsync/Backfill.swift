import ArgumentParser
import Foundation
import SheetSyncCore
import SheetSyncRunner
import SheetSyncStore

/// `sheetsync backfill JOB --from A --to B --step 1d`.
struct Backfill: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a pull job over a past range, window by window ({{window.start}}, {{window.end}}).",
        discussion: paragraphs("""
            Windows are [from, to) cut at --step (30m, 6h, 1d, 1w, 1mo), in UTC unless --timezone is given
            (then day and month boundaries are local midnights). Finished windows are recorded: running the
            same backfill again (same job, range, step and zone) does only the windows not done yet, and
            nothing once it has completed; --restart runs every window again. A backfill never moves the
            job's incremental cursor.
            """)
    )

    @OptionGroup var global: GlobalOptions

    @OptionGroup var options: JobOptions

    @Option(help: ArgumentHelp("Start of the range (inclusive): a date (2024-01-01) or an ISO date-time.", valueName: "from"),
            transform: BackfillInstantArgument.parse)
    var from: BackfillInstantArgument

    @Option(help: ArgumentHelp("End of the range (exclusive).", valueName: "to"), transform: BackfillInstantArgument.parse)
    var to: BackfillInstantArgument

    @Option(help: ArgumentHelp("Window length: 30m, 6h, 1d, 1w, 1mo. (default: 1d)", valueName: "step"), transform: BackfillStepArgument.parse)
    var step = BackfillStepArgument(step: .days(1), text: "1d")

    @Option(help: ArgumentHelp("Windows run at once (1 to 64). (default: 1)", valueName: "concurrency"), transform: BackfillConcurrency.parse)
    var concurrency = BackfillConcurrency(1)

    @Option(help: ArgumentHelp("IANA time zone for dates and day/month boundaries (default UTC).", valueName: "timezone"),
            transform: TimeZoneArgument.parse)
    var timezone: TimeZoneArgument?

    @Flag(help: "Run every window again, instead of only those not done by an earlier run of the same backfill.")
    var restart = false

    /// `[--from, --to)` cut at `--step`. A date bound is midnight in `--timezone`, so the
    /// range is only known once every option is parsed: `validate()` checks it (from
    /// before to, at most a million windows), `run()` uses it.
    func plan() throws -> (start: UTCDateTime, end: UTCDateTime, windows: [BackfillWindow]) {
        let zone = timezone?.zone
        guard let start = from.instant(in: zone) else { throw ValidationError("--from '\(from)' is not a date (2024-01-01) or ISO date-time") }
        guard let end = to.instant(in: zone) else { throw ValidationError("--to '\(to)' is not a date (2024-01-01) or ISO date-time") }
        do {
            return (start, end, try BackfillPlan.windows(from: start, to: end, step: step.step, zone: zone))
        } catch {
            throw ValidationError(error.message)
        }
    }

    func validate() throws {
        _ = try plan()
    }

    func run() async throws {
        let (start, end, windows) = try plan()
        let job = options.job
        let context = try JobContext(global: global, options: options)
        try await context.finish {
            if let first = windows.first, let problem = context.runner.backfillProblem(context.job, params: context.params, window: first) {
                Output.err("error: backfill not started, every window would fail: \(problem)")
                throw ExitCode.failure
            }
            if !JobRunner.usesWindow(context.job) {
                Output.err("warning: job '\(job)' uses neither {{window.start}} nor {{window.end}}: each of the \(windows.count) window(s) sends the same requests and fetches the same records. Put them in the request (for example query: { updated_since: \"{{window.start}}\", updated_before: \"{{window.end}}\" }).")
            }
            let isTerminal = isatty(STDERR_FILENO) != 0
            let report: BackfillReport
            do {
                report = try await context.runner.backfill(
                    context.job, windows: windows, from: start.description, to: end.description, step: step.text,
                    timezone: timezone?.identifier ?? "UTC", concurrency: concurrency.count, restart: restart, params: context.params
                ) { report in
                    Self.show(report, onTerminal: isTerminal)
                }
            } catch let error as StoreError {
                Output.err("error: \(error.message)")
                throw ExitCode.failure
            }
            if isTerminal { FileHandle.standardError.write(Data("\n".utf8)) }
            if let stopped = report.stoppedEarly {
                Output.err("error: the first window failed and no other was started (the same cause would fail them all): \(stopped)")
                Output.err("Fix it and run the same command again: it goes on with the windows not done.")
            }
            let nothingToDo = report.resumed && report.last == nil && report.done == report.total
            Output.out("\(job): backfill \(report.failed == 0 ? "complete" : "incomplete"): \(report.done)/\(report.total) windows, \(report.rows) rows written\(report.failed > 0 ? ", \(report.failed) window(s) failed (run the same command again to retry them)" : "")\(nothingToDo ? " (every window was done by an earlier run of this backfill; --restart runs them again)" : "")")
            if report.failed > 0 { throw ExitCode.failure }
        }
    }

    /// A progress bar on a terminal; one plain line per window otherwise.
    static func show(_ report: BackfillReport, onTerminal: Bool) {
        let seconds = max(0.001, Double(report.elapsed.components.seconds) + Double(report.elapsed.components.attoseconds) / 1e18)
        let rate = Double(report.rows) / seconds
        let finished = report.done + report.failed
        if onTerminal {
            let width = 30
            let filled = report.total == 0 ? width : width * finished / report.total
            let remaining = report.total - finished
            let perWindow = finished > 0 ? seconds / Double(max(1, finished)) : 0
            let eta = Int(perWindow * Double(remaining))
            let line = "\r[\(String(repeating: "#", count: filled))\(String(repeating: ".", count: width - filled))] \(finished)/\(report.total) windows, \(report.rows) rows, \(Int(rate)) rows/s, ETA \(eta / 60):\(String(format: "%02d", eta % 60))"
            FileHandle.standardError.write(Data(line.utf8))
        } else if let (window, summary) = report.last {
            Output.err("window \(window.start) .. \(window.end): \(summary.status.rawValue), \(summary.counts.inserted + summary.counts.updated) rows (\(finished)/\(report.total) windows, \(report.rows) rows, \(Int(rate)) rows/s)\(summary.errorMessage.map { "; error: " + $0 } ?? "")")
        } else if report.resumed, report.done == report.total {
            Output.err("nothing to do: all \(report.total) windows were done by an earlier run of this backfill")
        } else if report.resumed {
            Output.err("resuming: \(report.done)/\(report.total) windows already done")
        }
    }
}
