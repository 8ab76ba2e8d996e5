import ArgumentParser
import Foundation
import SheetSyncCore
import SheetSyncRunner
import SheetSyncStore

/// `sheetsync state JOB`: shows, sets or resets a job's saved state.
struct State: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show a job's saved state (incremental cursor, resume position); --set or --reset it.",
        discussion: "'cursor' is the largest cursor value of the last completed run; 'resume.*' exist while a paginated run is unfinished."
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The job.")
    var job: String

    @Option(name: .customLong("set"), help: ArgumentHelp("Set the cursor: cursor=VALUE.", valueName: "cursor=value"))
    var assignment: String?

    @Flag(help: "Forget the cursor and any unfinished run, so the next run starts from 'incremental.start'.")
    var reset = false

    @Flag(help: "Do not ask before --reset.")
    var yes = false

    func validate() throws {
        if reset, assignment != nil { throw ValidationError("use either --reset or --set, not both") }
    }

    func run() async throws {
        // State belongs to the job's name; a job file with problems can still have its state inspected.
        let project = try global.loadProject(blockingOn: { $0.file == "sheetsync.yml" })
        let jobFile = global.projectURL.appendingPathComponent("jobs/\(job).yml").path
        guard FileManager.default.fileExists(atPath: jobFile) else {
            Output.err("error: no job '\(job)' (no file jobs/\(job).yml)\(Suggestion.didYouMean(job, in: project.jobs.map(\.name)))")
            throw ExitCode.failure
        }
        let database = try global.openStore(for: project)
        do {
            if let assignment {
                let parts = assignment.split(separator: "=", maxSplits: 1).map(String.init)
                guard parts.count == 2, parts[0] == StateKey.cursor, !parts[1].isEmpty else {
                    throw ValidationError("--set expects cursor=VALUE, got '\(assignment)'")
                }
                try database.saveState([StateKey.cursor: parts[1], StateKey.resumePosition: nil,
                                        StateKey.resumeCursorMax: nil, StateKey.resumeRequestCursor: nil], job: job)
                Output.out("\(job): cursor set to '\(parts[1])'")
                return
            }
            let state = try database.state(job: job)
            if reset {
                if !yes {
                    guard isatty(STDIN_FILENO) != 0 else {
                        Output.err("error: refusing to reset '\(job)' without confirmation; pass --yes")
                        throw ExitCode.failure
                    }
                    FileHandle.standardError.write(Data("Reset the state of '\(job)' (\(state.isEmpty ? "nothing saved" : state.keys.sorted().joined(separator: ", ")))? [y/N] ".utf8))
                    guard let answer = readLine(), ["y", "yes"].contains(answer.lowercased()) else {
                        Output.err("Nothing changed.")
                        return
                    }
                }
                try database.resetState(job: job)
                Output.out("\(job): state reset; the next run starts from the beginning")
                return
            }
            if state.isEmpty {
                Output.out("\(job): no saved state")
            } else {
                for key in state.keys.sorted() { Output.out("\(key)=\(state[key]!)") }
            }
        } catch let error as StoreError {
            Output.err("error: \(error.message)")
            throw ExitCode.failure
        }
    }
}
