import ArgumentParser
import Foundation
import SheetSyncCore
import SheetSyncFiles
import SheetSyncPush
import SheetSyncRunner
import SheetSyncTransform

/// `sheetsync verify [JOB]`: the job tests under `tests/`, offline.
struct Verify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the job tests: map each saved response in tests/JOB/ and compare the rows with its .expected.yml.",
        discussion: paragraphs("""
            A job test is tests/JOB/NAME.json (a response body) and tests/JOB/NAME.expected.yml (the rows it must
            give, per worksheet, and optionally 'rejects: N'). Nothing is requested and nothing is written.
            Prints each difference; exits 1 if any test fails.
            """)
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: "Only this job's tests.")
    var job: String?

    func run() async throws {
        let project = try global.loadProject(blockingOn: { isSchemaProblem($0) || $0.file.hasPrefix("jobs/") })
        let (cases, problems) = JobTestCase.load(directory: global.projectURL, job: job)
        let broken = Output.report(problems)
        guard !cases.isEmpty || broken > 0 else {
            Output.err("error: no job tests in \(global.projectURL.path)/tests/\(job.map { "\($0)/" } ?? ""): add tests/JOB/NAME.json (a saved response) and tests/JOB/NAME.expected.yml (the rows it must give)")
            throw ExitCode.failure
        }
        let transport: HTTPTransportBox
        do {
            transport = HTTPTransportBox(try JobRunner.makeTransport(for: project))
        } catch {
            Output.err("error: \(error.message)")
            throw ExitCode.failure
        }
        let runner = JobRunner(project: project, database: nil, transport: transport.transport, logger: global.makeLogger())
        var failed = 0
        for testCase in cases {
            let differences = await Self.differences(testCase, project: project, runner: runner)
            let label = "tests/\(testCase.job)/\(testCase.name)"
            if differences.isEmpty {
                Output.out("ok    \(label)")
            } else {
                failed += 1
                Output.out("FAIL  \(label)")
                for difference in differences { Output.out("      \(difference)") }
            }
        }
        await transport.transport.shutdown()
        Output.out("\(cases.count - failed) passed, \(failed) failed\(broken > 0 ? ", \(broken) test file problem(s)" : "")")
        if failed > 0 || broken > 0 { throw ExitCode.failure }
    }

    /// What the saved response gives that the expectation does not say, one line each.
    static func differences(_ testCase: JobTestCase, project: Project, runner: JobRunner) async -> [String] {
        guard let job = project.job(named: testCase.job) else { return ["no job '\(testCase.job)' in jobs/"] }
        guard case .pull = job.kind else { return ["'\(testCase.job)' is a push job; job tests map pull responses"] }
        guard let data = FileManager.default.contents(atPath: testCase.response.path) else { return ["cannot read \(testCase.response.path)"] }
        let report = await runner.preview(job, savedResponse: Array(data))
        if let error = report.error { return ["the response does not map: \(error)"] }
        guard let page = report.page else { return ["the response gave no page"] }
        var actual: [String: RowBatch] = [:]
        if let main = report.worksheets.first { actual[main.name] = page.rows }
        for child in page.children { actual[child.worksheet] = child.rows }
        var lines: [String] = []
        for (worksheet, expectedRows) in testCase.rows.sorted(by: { $0.key < $1.key }) {
            guard let batch = actual[worksheet], let definition = project.worksheet(named: worksheet) else {
                lines.append("\(worksheet): no such worksheet in this job's output (it gives: \(actual.keys.sorted().joined(separator: ", ")))")
                continue
            }
            if batch.rows.count != expectedRows.count {
                lines.append("\(worksheet): expected \(expectedRows.count) row(s), got \(batch.rows.count)")
            }
            for (index, (expected, row)) in zip(expectedRows, batch.rows).enumerated() {
                for (field, want) in expected.sorted(by: { $0.key < $1.key }) {
                    guard let column = batch.columns.firstIndex(of: field) else {
                        lines.append("\(worksheet) row \(index + 1): no field '\(field)' (fields: \(batch.columns.joined(separator: ", ")))")
                        continue
                    }
                    let got = text(row[column], as: definition.field(named: field)?.type ?? .text)
                    if got != want {
                        lines.append("\(worksheet) row \(index + 1): \(field): expected \(want ?? "null"), got \(report.redactor.redact(got ?? "null"))")
                    }
                }
            }
        }
        if let rejects = testCase.rejects, rejects != page.rejects.count {
            lines.append("rejects: expected \(rejects), got \(page.rejects.count)" + (page.rejects.first.map { " (first: \(report.redactor.redact($0.reason)))" } ?? ""))
        }
        return lines
    }

    /// A stored value as the expectation writes it: typed as in a push body, as text.
    static func text(_ value: SQLValue, as type: FieldType) -> String? {
        switch RecordPayload.typed(value, as: type) {
        case .null: nil
        case .string(let text): text
        case .number(let literal): literal
        case .bool(let flag): flag ? "true" : "false"
        case let other: other.jsonText
        }
    }
}
