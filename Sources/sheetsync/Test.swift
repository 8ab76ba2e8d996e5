import ArgumentParser
import SheetSyncCore
import SheetSyncRunner
import SheetSyncTransform

/// `sheetsync test JOB`: the "Test API" button.
struct Test: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Send a job's request once and show the response and the rows it would become.",
        discussion: "Nothing is written. --infer-schema prints a schema/*.yml worksheet guessed from the response, to start from a sample."
    )

    @OptionGroup var global: GlobalOptions

    @OptionGroup var options: JobOptions

    @Flag(name: .customLong("infer-schema"), help: "Print a worksheet definition inferred from the response.")
    var inferSchema = false

    func run() async throws {
        let context = try JobContext(global: global, options: options, createDatabase: false)
        try await context.finish {
            let report = await context.runner.preview(context.job, params: context.params)
            if inferSchema {
                guard report.error == nil || !report.records.isEmpty else {
                    Output.err("error: \(report.error ?? "no records")")
                    throw ExitCode.failure
                }
                Output.out(SchemaInference.yaml(worksheet: context.job.worksheet, records: report.records))
                return
            }
            ReportPrinter.printTest(report)
            if report.error != nil { throw ExitCode.failure }
        }
    }
}
