import Foundation
import Testing

/// Issue 16, item 3: `sheetsync test` asks for the test values of parameters that have none
/// when it runs on a terminal (a pseudo-terminal here), keeps them for the next test, sends
/// blanks when asked to, and keeps refusing clearly without a terminal.
struct TestValuesCLITests {
    static let files = [
        "schema/lookups.yml": "key: [ip]\nfields:\n  ip: text\n  city: text\n",
        "jobs/lookup.yml": """
            kind: pull
            worksheet: lookups
            request:
              url: "{{env.API}}/ip"
              query: { ip: "{{param.ip}}", lang: "{{param.lang}}" }
              headers: { Authorization: "Bearer {{secret.LOOKUP_TOKEN}}" }
            records: $.result
            fields: { ip: "{{param.ip}}", city: $.city }
            """,
    ]

    /// Runs `sheetsync ARGS` on a pseudo-terminal, typing `input`.
    func onTerminal(_ input: String, _ arguments: [String], environment: [String: String]) throws -> CLIResult {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/pty_run.py")
        return try CLI.run(["python3", script.path, input, CLI.binary.path] + arguments, executable: URL(fileURLWithPath: "/usr/bin/env"),
                           environment: environment)
    }

    /// How many requests the lookup API received for exactly this query.
    func sent(_ url: String, _ query: String) throws -> Int {
        try requestCount(url, query: "?path=" + ("/ip?" + query).addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)
    }

    @Test func aTerminalIsAskedForMissingValuesAndOffersTheLastOnes() throws {
        let (api, url) = try startFixture("lookup_api.py", [])
        defer { api.stop() }
        let project = try ProjectDirectory(files: Self.files)
        let path = project.url.path
        let environment = ["API": url, "LOOKUP_TOKEN": "tok-5ecret-canary"]

        // Nothing known yet: the value typed for ip, Enter (a blank) for lang.
        let first = try onTerminal("203.0.113.9\\n\\n", ["test", "lookup", "--project", path], environment: environment)
        #expect(first.status == 0, "\(first.stdout)")
        #expect(first.stdout.contains("Test values for 'lookup'") && first.stdout.contains("  ip: ") && first.stdout.contains("Berlin"), "\(first.stdout)")
        #expect(try sent(url, "ip=203.0.113.9&lang=") == 1)

        // The last values are offered: Enter keeps ip, "fr" replaces the blank lang.
        let second = try onTerminal("\\nfr\\n", ["test", "lookup", "--project", path], environment: environment)
        #expect(second.status == 0, "\(second.stdout)")
        #expect(second.stdout.contains("ip [203.0.113.9]: "), "\(second.stdout)")
        #expect(try sent(url, "ip=203.0.113.9&lang=fr") == 1)

        // "" sends a blank in place of an offered value; Enter keeps lang's "fr".
        let third = try onTerminal("\"\"\\n\\n", ["test", "lookup", "--project", path], environment: environment)
        #expect(third.stdout.contains("lang [fr]: "), "\(third.stdout)")
        #expect(try sent(url, "ip=&lang=fr") == 1)

        // A value given with --param is not asked for; the others still are.
        let partly = try onTerminal("\\n", ["test", "lookup", "--param", "ip=198.51.100.1", "--project", path], environment: environment)
        #expect(!partly.stdout.contains("  ip"), "\(partly.stdout)")
        #expect(partly.stdout.contains("lang [fr]: "), "\(partly.stdout)")
        #expect(try sent(url, "ip=198.51.100.1&lang=fr") == 1)

        // Kept in the database: parameters only, never the secret the request used.
        #expect(try queryValue("SELECT group_concat(name || '=' || value, ',') FROM (SELECT * FROM _sheetsync_test_values ORDER BY name)", project: path)
                == "ip=198.51.100.1,lang=fr")
        for file in try FileManager.default.contentsOfDirectory(atPath: path) where file.hasPrefix("sheetsync.db") {
            let bytes = try Data(contentsOf: project.url.appendingPathComponent(file))
            #expect(bytes.range(of: Data("tok-5ecret-canary".utf8)) == nil, "the secret is in \(file)")
        }
    }

    @Test func withoutATerminalNothingIsAskedAndBlanksComeFromTheCommandLine() throws {
        let (api, url) = try startFixture("lookup_api.py", [])
        defer { api.stop() }
        let project = try ProjectDirectory(files: Self.files)
        let path = project.url.path
        let environment = ["API": url, "LOOKUP_TOKEN": "t"]

        let refused = try CLI.run(["test", "lookup", "--project", path], environment: environment)
        #expect(refused.status != 0)
        #expect((refused.stdout + refused.stderr).contains("'{{param.ip}}' has no value; pass --param ip="), "\(refused.stdout)\(refused.stderr)")
        #expect(!(refused.stdout + refused.stderr).contains("Test values"))

        let blank = try CLI.run(["test", "lookup", "--param", "ip=", "--param", "lang=de", "--project", path], environment: environment)
        #expect(blank.status == 0, "\(blank.stdout)\(blank.stderr)")
        #expect(try sent(url, "ip=&lang=de") == 1)
    }
}
