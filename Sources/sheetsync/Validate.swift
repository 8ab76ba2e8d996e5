import ArgumentParser
import SheetSyncCore

/// `sheetsync validate`: checks every file of the project and reports all problems.
struct Validate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check sheetsync.yml, schema/ and jobs/ and report every problem.",
        discussion: "Problems are printed to stdout as 'file:line:col: error: message', one per line. Exits 1 if there are errors; warnings alone exit 0."
    )

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let project = global.loadProject()
        let errors = Output.report(project.diagnostics, toStandardOutput: true)
        if errors > 0 { throw ExitCode.failure }
        Output.out("ok: \(project.worksheets.count) worksheet\(project.worksheets.count == 1 ? "" : "s"), \(project.jobs.count) job\(project.jobs.count == 1 ? "" : "s")")
    }
}
