import ArgumentParser
import Foundation
import SheetSyncCore
import SheetSyncStore

/// Test values, as the reference product's "Test API" asks for them: `sheetsync test` on a
/// terminal asks for each `{{param.x}}` that has no value (no `--param x=…`, no default
/// under `params:`), offering the value the last test of that job used.
///
/// - Enter keeps the offered value, or sends a blank when there is none; `""` sends a blank
///   in place of an offered value. `--param x=` sends a blank without asking.
/// - The values a live test used are kept in the database (`_sheetsync_test_values`) for
///   the next one. Only parameters are ever asked for or kept: a `{{secret.…}}` comes from
///   the environment or the secrets file, never from a prompt.
/// - Without a terminal nothing is asked: the test is refused, naming the parameter and
///   `--param`, as before.
enum TestValues {
    /// The job's parameters, in order of first use.
    static func parameters(of job: JobDefinition) -> [String] {
        var seen = Set<String>()
        return job.allTemplates.flatMap(\.references).filter { $0.source == .param }.map(\.name).filter { seen.insert($0).inserted }
    }

    /// The parameters that have no value from `--param` or the job's defaults.
    static func missing(in job: JobDefinition, given: [String: String]) -> [String] {
        parameters(of: job).filter { given[$0] == nil && job.params[$0] == nil }
    }

    static var isInteractive: Bool { isatty(STDIN_FILENO) != 0 }

    /// Asks for each of `names` on the terminal; `last` holds the values offered.
    static func ask(_ names: [String], job: String, last: [String: String]) throws -> [String: String] {
        Output.err("Test values for '\(job)' (Enter keeps the value in brackets; \"\" sends a blank):")
        var answers: [String: String] = [:]
        for name in names {
            if let offered = last[name] {
                Output.prompt("  \(name) [\(offered)]: ")
            } else {
                Output.prompt("  \(name): ")
            }
            guard let line = readLine(strippingNewline: true) else {
                Output.err("")
                Output.err("error: no value for '\(name)' (input ended); pass --param \(name)=… to test without questions")
                throw ExitCode.failure
            }
            let typed = line.trimmingCharacters(in: .whitespaces)
            if typed == "\"\"" || typed == "''" {
                answers[name] = ""
            } else if typed.isEmpty {
                answers[name] = last[name] ?? ""
            } else {
                answers[name] = line
            }
        }
        return answers
    }
}
