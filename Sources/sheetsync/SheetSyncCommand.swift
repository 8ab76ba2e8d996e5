import ArgumentParser
import Foundation

/// The `sheetsync` command: keeps SQLite worksheet tables in sync with HTTP APIs.
@main
struct SheetSyncCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sheetsync",
        abstract: "Keep SQLite worksheet tables in sync with HTTP APIs.",
        discussion: paragraphs("""
            A project is a directory with schema/*.yml (worksheets), jobs/*.yml (jobs) and an
            optional sheetsync.yml. Exit codes: 0 success, 1 failure (invalid files, a failed job,
            an SQL error), 2 partial success (rejected records), 64 bad command-line usage.
            """),
        version: "0.1.0",
        subcommands: [Init.self, Demo.self, Run.self, Test.self, Infer.self, Backfill.self, State.self, Push.self, Deliveries.self, Replay.self, Serve.self, Status.self, History.self, Prune.self, Validate.self, Migrate.self, Query.self, Jobs.self, Verify.self, SchemaCommand.self]
    )

    static func main() async {
        // A file size limit (ulimit -f) would kill the process with SIGXFSZ in the middle
        // of a write; ignored, the write fails instead and SQLite rolls the transaction
        // back, so the run ends with an error that says what happened.
        signal(SIGXFSZ, SIG_IGN)
        let arguments = Array(CommandLine.arguments.dropFirst())
        if let typo = unknownSubcommand(in: arguments) {
            // ArgumentParser would say "2 unexpected arguments" and show the root usage.
            var text = "Error: '\(typo)' is not a sheetsync command."
            if let guess = closestSubcommand(to: typo) { text += " Did you mean '\(guess)'?" }
            text += "\nCommands: " + subcommandNames.joined(separator: ", ") + "\n  See 'sheetsync --help' for more information."
            FileHandle.standardError.write(Data((text + "\n").utf8))
            Foundation.exit(64)  // EX_USAGE, as ArgumentParser's usage errors
        }
        do {
            var command = try parseAsRoot()
            do {
                if var asyncCommand = command as? AsyncParsableCommand {
                    try await asyncCommand.run()
                } else {
                    try command.run()
                }
            } catch let error as ValidationError {
                // A value refused while running (`state --set foo=1`) is shown with the
                // command's own usage, not the root's.
                let name = type(of: command)._commandName
                FileHandle.standardError.write(Data("""
                    Error: \(error.message)
                    Usage: \(usageString(for: type(of: command)))
                      See 'sheetsync \(name) --help' for more information.

                    """.utf8))
                Foundation.exit(64)
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

    @Option(name: .customLong("log-level"), help: "How much is logged on stderr.")
    var logLevel: LogLevelOption = .info

    @Option(name: .customLong("log-format"), help: "How log lines on stderr look.")
    var logFormat: LogFormat = .text
}

extension SheetSyncCommand {
    static var subcommandNames: [String] { configuration.subcommands.map { $0._commandName } }

    /// The first argument when it is a word that names no command (`sheetsync rn sales`).
    static func unknownSubcommand(in arguments: [String]) -> String? {
        guard let first = arguments.first, !first.hasPrefix("-"), first != "help", !subcommandNames.contains(first) else { return nil }
        return first
    }

    /// The command within two edits of `word` (a typo), if one is.
    static func closestSubcommand(to word: String) -> String? {
        let scored = subcommandNames.map { ($0, editDistance(word, $0)) }.filter { $0.1 <= 2 }
        return scored.min { $0.1 < $1.1 }?.0
    }

    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        var previous = Array(0...b.count)
        for i in 1...max(a.count, 1) where !a.isEmpty {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...max(b.count, 1) where !b.isEmpty {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return a.isEmpty ? b.count : previous[b.count]
    }
}
