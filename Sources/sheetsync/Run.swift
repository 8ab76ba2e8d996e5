import ArgumentParser
import Foundation
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
        let context = try JobContext(global: global, options: options, createDatabase: !dryRun)
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
    init(global: GlobalOptions, jobName: String, params: [String: String] = [:], createDatabase: Bool = true) throws {
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
        let exists = FileManager.default.fileExists(atPath: global.databasePath(for: project))
        let database = createDatabase || exists ? try global.openDatabase(for: project) : nil
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
                                faults: FaultPoint.hook(from: ProcessInfo.processInfo.environment))
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
