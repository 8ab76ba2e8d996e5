import ArgumentParser
import Foundation
import SheetSyncCore
import SheetSyncRunner
import SheetSyncStore

/// `sheetsync backfill JOB --from A --to B --step 1d`.
struct Backfill: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a pull job over a past range, window by window ({{window.start}}, {{window.end}}).",
        discussion: """
            Windows are [from, to) cut at --step (30m, 6h, 1d, 1w, 1mo), in UTC unless --timezone is given
            (then day and month boundaries are local midnights). Finished windows are recorded: running the
            same backfill again resumes with the windows still to do; --restart starts over. A backfill never
            moves the job's incremental cursor.
            """
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The job.")
    var job: String

    @Option(help: "Start of the range (inclusive): a date (2024-01-01) or an ISO date-time.")
    var from: String

    @Option(help: "End of the range (exclusive).")
    var to: String

    @Option(help: "Window length: 30m, 6h, 1d, 1w, 1mo.")
    var step = "1d"

    @Option(help: "Windows run at once.")
    var concurrency = 1

    @Option(help: "IANA time zone for dates and day/month boundaries (default UTC).")
    var timezone: String?

    @Flag(help: "Start over instead of resuming an interrupted backfill of the same range.")
    var restart = false

    @Option(name: .customLong("param"), help: ArgumentHelp("A value for {{param.KEY}} (repeatable).", valueName: "key=value"))
    var params: [String] = []

    func run() async throws {
        let zone: TimeZone?
        if let timezone {
            guard let parsed = TimeZone(identifier: timezone) else { throw ValidationError("unknown time zone '\(timezone)'; use an IANA name such as Europe/Berlin") }
            zone = parsed
        } else {
            zone = nil
        }
        guard let start = BackfillPlan.parseInstant(from, zone: zone) else { throw ValidationError("--from '\(from)' is not a date (2024-01-01) or ISO date-time") }
        guard let end = BackfillPlan.parseInstant(to, zone: zone) else { throw ValidationError("--to '\(to)' is not a date (2024-01-01) or ISO date-time") }
        guard concurrency >= 1, concurrency <= 64 else { throw ValidationError("--concurrency must be between 1 and 64") }
        let windows: [BackfillWindow]
        do {
            windows = try BackfillPlan.windows(from: start, to: end, step: try BackfillPlan.parseStep(step), zone: zone)
        } catch {
            throw ValidationError(error.message)
        }
        let context = try JobContext(global: global, jobName: job, params: params)
        try await context.finish {
            let isTerminal = isatty(STDERR_FILENO) != 0
            let report: BackfillReport
            do {
                report = try await context.runner.backfill(
                    context.job, windows: windows, from: start.description, to: end.description, step: step,
                    timezone: timezone ?? "UTC", concurrency: concurrency, restart: restart, params: context.params
                ) { report in
                    Self.show(report, onTerminal: isTerminal)
                }
            } catch let error as StoreError {
                Output.err("error: \(error.message)")
                throw ExitCode.failure
            }
            if isTerminal { FileHandle.standardError.write(Data("\n".utf8)) }
            Output.out("\(job): backfill \(report.failed == 0 ? "complete" : "incomplete"): \(report.done)/\(report.total) windows, \(report.rows) rows written\(report.failed > 0 ? ", \(report.failed) window(s) failed (run the same command again to retry them)" : "")")
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
        } else if report.resumed {
            Output.err("resuming: \(report.done)/\(report.total) windows already done")
        }
    }
}
