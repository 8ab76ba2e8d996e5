import ArgumentParser
import Foundation

/// The `sheetsync` command: keeps SQLite worksheet tables in sync with HTTP APIs.
@main
struct SheetSyncCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sheetsync",
        abstract: "Keep SQLite worksheet tables in sync with HTTP APIs.",
        discussion: """
            A project is a directory with schema/*.yml (worksheets), jobs/*.yml (jobs) and an
            optional sheetsync.yml. Exit codes: 0 success, 1 failure (invalid files, a failed job,
            an SQL error), 2 partial success (rejected records), 64 bad command-line usage.
            """,
        version: "0.1.0",
        subcommands: [Init.self, Demo.self, Run.self, Test.self, Infer.self, Backfill.self, State.self, Push.self, Deliveries.self, Replay.self, Serve.self, Status.self, History.self, Prune.self, Validate.self, Migrate.self, Query.self, Jobs.self, Verify.self]
    )

    static func main() async {
        // A file size limit (ulimit -f) would kill the process with SIGXFSZ in the middle
        // of a write; ignored, the write fails instead and SQLite rolls the transaction
        // back, so the run ends with an error that says what happened.
        signal(SIGXFSZ, SIG_IGN)
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}

/// Options every subcommand takes.
struct GlobalOptions: ParsableArguments {
    @Option(name: .customLong("project"), help: ArgumentHelp("Project directory holding sheetsync.yml, jobs/ and schema/.", valueName: "dir"))
    var project: String = "."

    @Option(name: .customLong("db"), help: ArgumentHelp("Database file (default: SHEETSYNC_DB, else 'database' in sheetsync.yml, else sheetsync.db in the project).", valueName: "path"))
    var database: String?

    @Option(name: .customLong("log-level"), help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: LogLevelOption = .info

    @Option(name: .customLong("log-format"), help: "Log format on stderr: text or json.")
    var logFormat: LogFormat = .text
}
