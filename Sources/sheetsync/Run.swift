import ArgumentParser
import Foundation
import Synchronization
import SheetSyncCore
import SheetSyncFiles
import SheetSyncHTTP
import SheetSyncRunner
import SheetSyncStore

/// `sheetsync run JOB`: runs one job now.
struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run one job now and print a one-line summary.",
        discussion: paragraphs("""
            --dry-run sends the job's request (pull jobs only read), prints it with secrets masked and the rows
            it would write, and writes nothing. Exit codes: 0 succeeded, 1 failed, 2 partial (rejected records,
            or a step that failed with on_failure: continue).
            """)
    )

    @OptionGroup var global: GlobalOptions

    @OptionGroup var options: JobOptions

    @Flag(name: .customLong("dry-run"), help: "Show the request and the rows it would write; write nothing.")
    var dryRun = false

    func run() async throws {
        // On a terminal, a line on stderr that says how far the run has got (as backfill's);
        // nothing when stderr is a file or a pipe (scripts, cron, CI logs).
        let meter = isatty(STDERR_FILENO) != 0 && !dryRun ? ProgressLine() : nil
        var progress: (@Sendable (RunProgress) -> Void)?
        if let meter { progress = { meter.show($0) } }
        let context = try JobContext(global: global, options: options, createDatabase: !dryRun, progress: progress)
        try await context.finish {
            if dryRun {
                let report = await context.runner.preview(context.job, params: context.params)
                ReportPrinter.printDryRun(report)
                if report.error != nil { throw ExitCode.failure }
                return
            }
            if case .push = context.job.kind {
                // A push job's "run" is a push pass.
                let pushed = await context.runner.push(context.job, dryRun: dryRun)
                Output.out(pushed.line)
                if pushed.exitCode != 0 { throw ExitCode(pushed.exitCode) }
                return
            }
            let summary = await context.runner.run(context.job, params: context.params, trigger: .cli)
            meter?.clear()
            // What happened on standard output, the error and warnings on standard error (once:
            // the runner does not log them again for a command-line run).
            let (headline, notes) = summary.headlineAndNotes
            Output.out(headline)
            if let notes { Output.err(notes) }
            if summary.exitCode != 0 { throw ExitCode(summary.exitCode) }
        }
    }
}

/// What `run` and `test` share: the project, the job, the database, the runner.
struct JobContext {
    let project: Project
    let job: JobDefinition
    let params: [String: String]
    let runner: JobRunner

    /// - Parameter createDatabase: false for previews: an existing database is read
    ///   (for saved state), a missing one is not created.
    init(global: GlobalOptions, jobName: String, params: [String: String] = [:], createDatabase: Bool = true,
         progress: (@Sendable (RunProgress) -> Void)? = nil) throws {
        let jobFile = "jobs/\(jobName).yml"
        let project = try global.loadProject(blockingOn: { isSchemaProblem($0) || $0.file == jobFile })
        guard let job = project.job(named: jobName) else {
            let known = project.jobs.map(\.name)
            let hint = Suggestion.didYouMean(jobName, in: known)
            Output.err("error: no job '\(jobName)' in \(global.projectURL.path)/jobs/\(hint)\(known.isEmpty ? "" : " (jobs: \(known.joined(separator: ", ")))")")
            throw ExitCode.failure
        }
        // A --param the job never uses is a typo until shown otherwise: the run would go on
        // with the default (issue 18).
        let known = TestValues.parameters(of: job) + job.params.keys.sorted()
        for name in params.keys.sorted() where !known.contains(name) {
            let list = known.isEmpty ? "it has none" : "its parameters: \(Array(Set(known)).sorted().joined(separator: ", "))"
            Output.err("error: job '\(jobName)' uses no parameter '\(name)'\(Suggestion.didYouMean(name, in: known)) (\(list)); a parameter is a {{param.NAME}} in \(jobFile) or a default under its 'params:'")
            throw ExitCode.failure
        }
        let database = createDatabase || global.databaseExists(for: project) ? try global.openStore(for: project) : nil
        let transport: HTTPTransportBox
        do {
            transport = HTTPTransportBox(try JobRunner.makeTransport(for: project))
        } catch {
            Output.err("error: \(error.message)")
            throw ExitCode.failure
        }
        self.project = project
        self.job = job
        self.params = params
        self.runner = JobRunner(project: project, database: database, transport: transport.transport, logger: global.makeLogger(),
                                faults: FaultPoint.hook(from: ProcessInfo.processInfo.environment), progress: progress)
    }

    /// Runs `body`, then closes the HTTP client whatever happened (awaited, never
    /// blocking a thread of the cooperative pool).
    func finish<T>(_ body: () async throws -> T) async throws -> T {
        do {
            let result = try await body()
            await runner.transport.shutdown()
            return result
        } catch {
            await runner.transport.shutdown()
            throw error
        }
    }
}

struct HTTPTransportBox {
    let transport: HTTPTransport
    init(_ transport: HTTPTransport) { self.transport = transport }
}

/// One line on a terminal's stderr, rewritten in place at most ten times a second.
final class ProgressLine: Sendable {
    private let state = Mutex<(last: ContinuousClock.Instant?, shown: Bool)>((nil, false))

    func show(_ progress: RunProgress) {
        let now = ContinuousClock.now
        let due = state.withLock { state -> Bool in
            if let last = state.last, now - last < .milliseconds(100) { return false }
            state = (now, true)
            return true
        }
        guard due else { return }
        let seconds = max(0.001, Double(progress.elapsed.components.seconds) + Double(progress.elapsed.components.attoseconds) / 1e18)
        let rate = Int(Double(progress.records) / seconds)
        Output.prompt("\r\u{1B}[K\(progress.job): \(progress.pages) page\(progress.pages == 1 ? "" : "s"), \(progress.records) records, \(rate) records/s")
    }

    /// Erases the line, before the summary is printed.
    func clear() {
        if state.withLock({ $0.shown }) { Output.prompt("\r\u{1B}[K") }
    }
}
