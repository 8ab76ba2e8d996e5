import Foundation
import ArgumentParser
import SheetSyncCore
import SheetSyncRunner
import SheetSyncTransform

/// `sheetsync test JOB`: the "Test API" button.
struct Test: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Send a job's request once and show the response and the rows it would become.",
        discussion: paragraphs("""
            Nothing is written but, on a terminal, the test values: a {{param.x}} without a value is asked for (Enter keeps the
            value the last test used, "" sends a blank); --param x= sends a blank without asking. --infer-schema prints a schema/*.yml worksheet guessed from the response, to start from a sample.
            For a push job: shows the request one record's delivery would send (--record KEY, default the latest changed
            record), secrets masked; --send sends it once and shows the response. The delivery ledger is not touched.
            """)
    )

    @OptionGroup var global: GlobalOptions

    @OptionGroup var options: JobOptions

    @Flag(name: .customLong("infer-schema"), help: "Print a worksheet definition inferred from the response.")
    var inferSchema = false

    @Option(name: .customLong("response"), help: ArgumentHelp("Map this saved response (a JSON file) instead of sending the request: test a mapping offline.", valueName: "file"))
    var response: String?

    @Option(name: .customLong("record"), help: ArgumentHelp("Push jobs: the record to test, by key (a value, or a JSON array for a key of several fields).", valueName: "key"))
    var record: String?

    @Flag(help: "Push jobs: send the request once and show the response.")
    var send = false

    func run() async throws {
        let context = try JobContext(global: global, options: options, createDatabase: false)
        try await context.finish {
            if case .push = context.job.kind {
                if inferSchema { throw ValidationError("--infer-schema is for pull jobs; '\(context.job.name)' is a push job") }
                let report = await context.runner.testPush(context.job, recordKey: record, send: send)
                for note in report.notes { Output.err("note: \(note)") }
                if report.request != nil, !send { Output.out("# not sent (add --send to send it once); the delivery ledger is not touched\n") }
                ReportPrinter.printTest(report)
                if report.error != nil { throw ExitCode.failure }
                return
            }
            if record != nil || send {
                throw ValidationError("--record and --send are for push jobs; a pull job's test always sends its request once")
            }
            var saved: [UInt8]?
            if let response {
                guard let data = FileManager.default.contents(atPath: response) else {
                    Output.err("error: cannot read the saved response '\(response)'; pass the path of a file holding the response body")
                    throw ExitCode.failure
                }
                saved = Array(data)
                Output.out("# offline: the request below is not sent; '\(response)' is mapped as its response")
            }
            var params = context.params
            var store = context.runner.database
            let missing = TestValues.missing(in: context.job, given: params)
            if saved == nil, !missing.isEmpty, TestValues.isInteractive {
                // Asked on a terminal; the answers are kept, so the database is made if needed.
                let database = try store ?? global.openStore(for: context.project)
                store = database
                let last = (try? database.testValues(job: context.job.name)) ?? [:]
                params.merge(try TestValues.ask(missing, job: context.job.name, last: last)) { $1 }
            }
            let report = await context.runner.preview(context.job, params: params, savedResponse: saved)
            if saved == nil, report.request != nil, let store {
                let used = TestValues.parameters(of: context.job).filter { params[$0] != nil }
                try? store.saveTestValues(Dictionary(uniqueKeysWithValues: used.map { ($0, params[$0]!) }), job: context.job.name)
            }
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
