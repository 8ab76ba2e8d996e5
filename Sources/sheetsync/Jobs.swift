import ArgumentParser
import SheetSyncCore

/// `sheetsync jobs`: lists the project's jobs.
struct Jobs: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the jobs: name, kind, worksheet and schedule.")

    @OptionGroup var global: GlobalOptions

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    func run() async throws {
        let project = global.loadProject()
        if project.hasErrors {
            Output.report(project.errors)
            Output.err("note: jobs with errors are not listed; run 'sheetsync validate'.")
        }
        let rows: [[String]] = project.jobs.map { job in
            [job.name, job.kind.name, job.worksheet, job.schedule ?? "-"]
        }
        if json {
            let values = project.jobs.map { job in
                JSONValue.object(JSONObject([
                    "name": .string(job.name), "kind": .string(job.kind.name), "worksheet": .string(job.worksheet),
                    "schedule": job.schedule.map(JSONValue.string) ?? .null, "file": .string(job.file),
                ]))
            }
            Output.out(JSONValue.array(values).jsonText)
        } else if rows.isEmpty {
            Output.err("No jobs in \(global.projectURL.path)/jobs/.")
        } else {
            Output.out(TextTable.render(header: ["name", "kind", "worksheet", "schedule"], rows: rows))
        }
        if project.hasErrors { throw ExitCode.failure }
    }
}
