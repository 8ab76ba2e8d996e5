import ArgumentParser
import Foundation
import SheetSyncCore
import SheetSyncStore

/// `sheetsync history [JOB]`: recent runs.
struct History: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show recent runs with their counts and errors.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "Only this job's runs.")
    var job: String?

    @Option(help: "How many runs to show.")
    var limit = 20

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    func run() async throws {
        let project = try global.loadProject(blockingOn: { $0.file == "sheetsync.yml" })
        let path = global.databasePath(for: project)
        guard global.databaseExists(for: project) else {
            Output.err("No runs yet: \(path) does not exist.")
            return
        }
        let database = try global.openStore(for: project)
        let runs: [RunRecord]
        do {
            runs = try database.runs(job: job, limit: limit)
        } catch {
            Output.err("error: \(error.message)")
            throw ExitCode.failure
        }
        if json {
            Output.out(JSONValue.array(runs.map { run in
                .object(JSONObject([
                    "id": .number(String(run.id)), "job": .string(run.job), "trigger": .string(run.trigger),
                    "started_at": .string(run.startedAt), "ended_at": run.endedAt.map(JSONValue.string) ?? .null,
                    "status": .string(run.status), "requests": .number(String(run.requests)),
                    "inserted": .number(String(run.inserted)), "updated": .number(String(run.updated)),
                    "unchanged": .number(String(run.unchanged)), "skipped": .number(String(run.skipped)), "rejected": .number(String(run.rejected)),
                    "deleted": .number(String(run.deleted)),
                    "error_code": run.errorCode.map(JSONValue.string) ?? .null,
                    "error_message": run.errorMessage.map(JSONValue.string) ?? .null,
                    "deliveries": run.deliveries.map { counts in
                        .object(JSONObject(counts.map { JSONObject.Member(key: $0.outcome, value: .number(String($0.count))) }))
                    } ?? .null,
                ]))
            }).jsonText)
            return
        }
        if runs.isEmpty {
            Output.err("No runs\(job.map { " of '\($0)'" } ?? "") yet.")
            return
        }
        // The `skip` column only when a listed run skipped records (`write: update`).
        let showsSkipped = runs.contains { $0.skipped > 0 }
        Output.out(TextTable.render(
            header: ["run", "job", "trigger", "started", "status", "req", "ins", "upd", "same"] + (showsSkipped ? ["skip"] : []) + ["rej", "result / error"],
            rows: runs.map { run in
                // A push run writes no rows: its row counts are '-', and what it delivered
                // goes before its error (all zeros said nothing true).
                let rows = run.deliveries == nil
                    ? [String(run.inserted), String(run.updated), String(run.unchanged)] + (showsSkipped ? [String(run.skipped)] : []) + [String(run.rejected)]
                    : Array(repeating: "-", count: showsSkipped ? 5 : 4)
                let result = [run.deliveriesText, run.errorText.isEmpty ? nil : run.errorText].compactMap { $0 }.joined(separator: " ")
                return [String(run.id), run.job, run.trigger, run.startedAt, run.status, String(run.requests)] + rows + [result]
            }))
    }
}

