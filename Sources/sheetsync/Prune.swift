import ArgumentParser
import Foundation
import SheetSyncCore
import SheetSyncStore

/// `sheetsync prune`: removes ledger rows older than `retention:` in sheetsync.yml says.
struct Prune: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Remove old rows from sheetsync's ledgers, as 'retention:' in sheetsync.yml says, and print what was removed.",
        discussion: paragraphs("""
            Defaults: requests 30d, runs 90d, rejects 90d, deliveries 90d (delivered and skipped ones), \
            step_failures 90d; 'forever' keeps a ledger. Never removed: a run in progress, the latest run \
            of each job, and deliveries not delivered yet (pending, failed). The requests and step failures \
            of a removed run go with it. 'sheetsync serve' does the same at start and every hour.
            """)
    )

    @OptionGroup var global: GlobalOptions

    @Flag(name: .customLong("dry-run"), help: "Count what would be removed; remove nothing.")
    var dryRun = false

    func run() async throws {
        let project = try global.loadProject(blockingOn: { $0.file == "sheetsync.yml" })
        let path = global.databasePath(for: project)
        guard global.databaseExists(for: project) else {
            Output.err("Nothing to prune: \(path) does not exist.")
            return
        }
        let database = try global.openStore(for: project)
        let results: [PruneResult]
        do {
            results = try database.prune(project.settings.retention, dryRun: dryRun)
        } catch {
            Output.err("error: \(error.message)")
            throw ExitCode.failure
        }
        for result in results {
            Output.out("\(result.ledger): \(result.count) \(dryRun ? "to remove" : "removed") (\(Self.rule(result)))")
        }
        if dryRun { Output.err("--dry-run: nothing was removed; 'sheetsync prune' would remove the rows above.") }
    }

    /// Which rows of the ledger go, in words.
    static func rule(_ result: PruneResult) -> String {
        let age = result.retention.map { "older than \(days($0))" }
        switch result.ledger {
        case "runs": return age.map { "\($0); a run in progress and the latest run of each job are kept" } ?? "kept forever"
        case "deliveries": return age.map { "delivered or skipped, \($0); pending and failed ones are kept" } ?? "kept forever"
        case "requests", "step_failures": return (age.map { "\($0), or" } ?? "kept forever, except those") + " of a removed run"
        default: return age ?? "kept forever"
        }
    }

    /// `90d`, `36h`, `90m`: a retention as it is usually written.
    static func days(_ duration: Duration) -> String {
        let seconds = duration.components.seconds
        if seconds % 86_400 == 0 { return "\(seconds / 86_400)d" }
        return DurationText.format(duration)
    }
}
