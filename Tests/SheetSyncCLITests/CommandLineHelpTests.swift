import Foundation
import Testing
import SheetSyncTesting

/// Issue 18, "the command line": help that reads as written, a did-you-mean for a
/// mistyped command, a demo that does not write over a project, and a busy port that
/// is said so (it hung, or printed a raw `bind(…)` error).
struct CommandLineHelpTests {
    static let commands = ["init", "demo", "run", "test", "infer", "backfill", "state", "push", "deliveries", "replay", "serve",
                           "status", "history", "prune", "validate", "migrate", "query", "jobs", "verify", "schema"]

    /// Hard line breaks in the source were re-wrapped by the parser into lines of one or
    /// two words mid-paragraph ("…jobs/*.yml (jobs) and\nan\noptional sheetsync.yml").
    @Test(arguments: [[]] + commands.map { [$0] })
    func helpParagraphsAreWrappedOnce(_ command: [String]) throws {
        let help = try CLI.run(command + ["--help"])
        #expect(help.status == 0)
        let text = help.stdout.components(separatedBy: "USAGE:")[0]
        let lines = text.components(separatedBy: "\n")
        for (index, line) in lines.enumerated() where !line.isEmpty && line.count < 30 && index + 1 < lines.count {
            #expect(lines[index + 1].isEmpty, "a short line inside a paragraph of 'sheetsync \(command.joined()) --help': '\(line)'\n\(text)")
        }
        #expect(!help.stdout.contains("(values: trace, debug, info, notice, warning, error, critical; default: info)") || !help.stdout.contains("Log level: trace"),
                "--log-level lists its values twice")
    }

    @Test func aMistypedCommandGetsASuggestion() throws {
        let typo = try CLI.run(["rn", "sales"])
        #expect(typo.status == 64)
        #expect(typo.stderr.contains("'rn' is not a sheetsync command. Did you mean 'run'?"), "\(typo.stderr)")
        let unknown = try CLI.run(["frobnicate"])
        #expect(unknown.status == 64)
        #expect(!unknown.stderr.contains("Did you mean"), "\(unknown.stderr)")
        #expect(unknown.stderr.contains("Commands: init, demo, run"), "\(unknown.stderr)")
        // Options and `help` still reach the parser.
        #expect(try CLI.run(["help", "run"]).stdout.contains("USAGE: sheetsync run"))
        #expect(try CLI.run(["--version"]).status == 0)
    }

    @Test func theDemoDoesNotWriteOverAProject() throws {
        let project = try ProjectDirectory(files: ["sheetsync.yml": "env: { A: b }\n", "notes.txt": "mine\n"])
        let refused = try CLI.run(["demo", "--dir", project.url.path])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("is not empty (notes.txt, sheetsync.yml) and was not made by 'sheetsync demo'"), "\(refused.stderr)")
        #expect(try String(contentsOf: project.url.appendingPathComponent("sheetsync.yml"), encoding: .utf8) == "env: { A: b }\n")
        #expect(!FileManager.default.fileExists(atPath: project.url.appendingPathComponent("jobs").path))

        // Its own directory, again (with --project, the same option): made afresh, said so.
        let own = project.url.appendingPathComponent("demo").path
        #expect(try CLI.run(["demo", "--project", own, "--orders", "20", "--log-format", "json"]).status == 0)
        let again = try CLI.run(["demo", "--dir", own, "--orders", "20"])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.stderr.contains("holds an earlier demo; its project files and database are made afresh"), "\(again.stderr)")
        let settings = try String(contentsOf: URL(fileURLWithPath: own).appendingPathComponent("sheetsync.yml"), encoding: .utf8)
        #expect(settings.contains("sheetsync demo serve --port 8080"), "\(settings)")
    }

    @Test func aBusyPortIsSaidSo() throws {
        let (shop, url, _) = try startDemoShop()
        defer { shop.terminate(); shop.waitUntilExit() }
        let port = String(url.split(separator: ":").last ?? "")
        let second = try CLI.run(["demo", "serve", "--port", port])
        #expect(second.status == 1)
        #expect(second.stderr.contains("port \(port) on 127.0.0.1 is already in use; choose another with --port"), "\(second.stderr)")

        let project = try ProjectDirectory(files: ProjectDirectory.orders)
        let serve = try CLI.run(["serve", "--http", "127.0.0.1:\(port)", "--project", project.url.path])
        #expect(serve.status == 1)
        #expect(serve.stderr.contains("cannot serve the HTTP endpoints on 127.0.0.1:\(port): the address is already in use"), "\(serve.stderr)")
        #expect(!serve.stderr.contains("bind(descriptor"), "\(serve.stderr)")
    }

    /// Log lines carry milliseconds (whole seconds could not order the lines of a second).
    @Test func logLinesHaveMillisecondsInBothFormats() throws {
        let project = try ProjectDirectory(files: ProjectDirectory.orders.merging([
            "jobs/orders.yml": "kind: pull\nworksheet: orders\nrequest: { url: 'http://127.0.0.1:9/orders', retry: { attempts: 1 } }\n",
        ]) { $1 })
        let text = try CLI.run(["run", "orders", "--log-level", "debug", "--project", project.url.path])
        let stamp = #/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z debug sheetsync: /#
        #expect(text.stderr.split(separator: "\n").contains { $0.contains(stamp) }, "\(text.stderr)")
        let json = try CLI.run(["run", "orders", "--log-level", "debug", "--log-format", "json", "--project", project.url.path])
        #expect(json.stderr.contains(#/"time":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"/#), "\(json.stderr)")
    }

    /// A value refused once the command runs showed the root's usage ("sheetsync <subcommand>").
    @Test func aRefusedValueShowsTheCommandsUsage() throws {
        let project = try ProjectDirectory(files: ProjectDirectory.orders.merging([
            "jobs/orders.yml": "kind: pull\nworksheet: orders\nrequest: { url: 'http://127.0.0.1:9/orders' }\n",
        ]) { $1 })
        let result = try CLI.run(["state", "orders", "--set", "foo=1", "--project", project.url.path])
        #expect(result.status == 64)
        #expect(result.stderr.contains("Error: --set expects cursor=VALUE, got 'foo=1'"), "\(result.stderr)")
        #expect(result.stderr.contains("Usage: sheetsync state "), "\(result.stderr)")
        #expect(!result.stderr.contains("sheetsync <subcommand>"), "\(result.stderr)")
    }
}
