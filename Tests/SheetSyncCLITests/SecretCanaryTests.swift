import Foundation
import Testing

/// One canary secret, used everywhere a secret can go — a header, a query string, a JSON
/// body, a push URL and body, proxy credentials — must never appear in anything sheetsync
/// prints, logs (text and JSON), previews or records, nor anywhere in the database file.
struct SecretCanaryTests {
    static let canary = "canary-SECRET-4b1d"

    static let pull = """
        kind: pull
        worksheet: orders
        request:
          method: POST
          url: "{{env.SHOP_URL}}/v1/orders/search"
          query: { k: "{{secret.CANARY}}" }
          headers: { Authorization: "Bearer {{secret.SHOP_TOKEN}}", X-Api-Key: "{{secret.CANARY}}" }
          body: { json: { page: 1, per_page: 20, key: "{{secret.CANARY}}" } }
          retry: { attempts: 1 }
        records: $.data
        fields: { id: $.id, status: $.status, total: $.amount.value, updated_at: $.customer.email }
        """
    static let proxied = """
        kind: pull
        worksheet: orders
        request:
          url: "{{env.SHOP_URL}}/v1/orders?k={{secret.CANARY}}"
          proxy: true
          retry: { attempts: 1 }
        records: $.data
        fields: { id: $.id }
        """
    static let push = """
        kind: push
        worksheet: orders
        request:
          url: "http://127.0.0.1:9/hooks/{{record.id}}?k={{secret.CANARY}}"
          headers: { X-Api-Key: "{{secret.CANARY}}" }
          body: { json: { id: "{{record.id}}", key: "{{secret.CANARY}}" } }
          timeout: 1s
        delivery: { attempts: 1 }
        """

    @Test func theCanaryNeverLeaks() async throws {
        let (shop, url) = try await ConcurrentUseTests().startShop(orders: 30)
        defer { shop.terminate() }
        var files: [String: String] = [
            "jobs/pull.yml": Self.pull, "jobs/proxied.yml": Self.proxied, "jobs/push.yml": Self.push,
            "sheetsync.yml": "proxy: { url: \"http://127.0.0.1:9\", username: me, password: \"{{secret.CANARY}}\" }\n",
        ]
        for name in try FileManager.default.contentsOfDirectory(atPath: CrashRecoveryTests.schema.path) {
            files["schema/\(name)"] = try String(contentsOf: CrashRecoveryTests.schema.appendingPathComponent(name), encoding: .utf8)
        }
        let project = try ProjectDirectory(files: files)
        let path = project.url.path
        let environment = ["SHOP_URL": url, "CANARY": Self.canary, "SHOP_TOKEN": "demo-token"]
        var output = ""
        func sheetsync(_ arguments: [String]) throws -> CLIResult {
            let result = try CLI.run(arguments + ["--project", path], environment: environment)
            output += result.stdout + result.stderr
            return result
        }
        #expect(try sheetsync(["migrate"]).status == 0)
        // The pull: 'updated_at' gets an email, so every record is rejected with its raw JSON.
        let pulled = try sheetsync(["run", "pull", "--log-level", "trace"])
        #expect(pulled.status == 2, "\(pulled.stdout)\(pulled.stderr)")
        #expect(try sheetsync(["run", "pull", "--log-level", "trace", "--log-format", "json"]).status == 2)
        #expect(try sheetsync(["test", "pull"]).status == 0)
        #expect(try sheetsync(["run", "pull", "--dry-run"]).status == 0)
        // Through a proxy that is not there: the error names the proxy, not its password.
        let proxied = try sheetsync(["run", "proxied", "--log-level", "trace"])
        #expect(proxied.status == 1)
        // Push: a change to deliver to a closed port, previewed, then attempted.
        #expect(try sheetsync(["query", "--write", "INSERT INTO orders (id, status) VALUES ('canary-row', 'new')"]).status == 0)
        #expect(try sheetsync(["push", "push", "--dry-run"]).status == 0)
        #expect(try sheetsync(["push", "push", "--log-level", "trace"]).status != 0)
        _ = try sheetsync(["deliveries", "--json"])
        _ = try sheetsync(["history", "--json"])
        _ = try sheetsync(["status"])

        // The secret went out where it was meant to …
        #expect(output.contains("***"), "nothing was masked, so nothing was tested")
        #expect(try sheetsync(["query", "SELECT count(*) FROM _sheetsync_rejects", "--format", "csv"]).stdout.contains("40"))
        #expect(try sheetsync(["query", "SELECT count(*) FROM _sheetsync_deliveries WHERE last_error IS NOT NULL", "--format", "csv"]).stdout.contains("1"))
        // … and nowhere else: not in any output, not in any byte of the database files.
        #expect(!output.contains(Self.canary), "the canary is in the output")
        for suffix in ["", "-wal"] {
            let file = project.url.appendingPathComponent("sheetsync.db" + suffix)
            guard let data = try? Data(contentsOf: file) else { continue }
            #expect(data.range(of: Data(Self.canary.utf8)) == nil, "the canary is in sheetsync.db\(suffix)")
        }
    }

    /// An API that echoes its key in the `next` link: the page is not stored whole
    /// (`skip_unchanged`) and the next position is not saved for resuming — a run killed
    /// after its first page starts over — so no byte of the database holds the key.
    @Test func aNextLinkCarryingTheKeyIsNeverStored() throws {
        let job = """
            kind: pull
            worksheet: orders
            request: { url: "{{env.API}}/page1", query: { api_key: "{{secret.CANARY}}" }, retry: { attempts: 1 } }
            paginate: { style: next_url, next: $.next }
            skip_unchanged: true
            records: $.data
            fields: { id: $.id, status: $.status }
            """
        let project = try ProjectDirectory(files: ["schema/orders.yml": "key: [id]\nfields:\n  id: text\n  status: text\n", "jobs/orders.yml": job])
        let apiFiles = try ProjectDirectory(files: ["page2.json": #"{"data": [{"id": "b", "status": "new"}]}"#])
        let (server, url) = try startFixture("file_api.py", [apiFiles.url.path])
        defer { server.stop() }
        try #"{"data": [{"id": "a", "status": "new"}], "next": "\#(url)/page2?api_key=\#(Self.canary)"}"#
            .write(to: apiFiles.url.appendingPathComponent("page1.json"), atomically: true, encoding: .utf8)
        let environment = ["API": url, "CANARY": Self.canary]
        func databaseHoldsTheCanary() -> Bool {
            ["", "-wal"].contains { suffix in
                (try? Data(contentsOf: project.url.appendingPathComponent("sheetsync.db" + suffix)))?.range(of: Data(Self.canary.utf8)) != nil
            }
        }

        let killed = try CLI.run(["run", "orders", "--project", project.url.path], environment: environment.merging(["SHEETSYNC_FAULT": "after-commit:1"]) { $1 })
        #expect(killed.status != 0)
        #expect(!databaseHoldsTheCanary(), "the next position was saved with the key")
        let rerun = try CLI.run(["run", "orders", "--project", project.url.path], environment: environment)
        #expect(rerun.status == 0, "\(rerun.stdout)\(rerun.stderr)")
        #expect(!(rerun.stdout + rerun.stderr).contains("resuming"), "\(rerun.stderr)")
        #expect(rerun.stdout.contains("2 records in 2 pages"), "\(rerun.stdout)")
        let again = try CLI.run(["run", "orders", "--project", project.url.path], environment: environment)
        #expect(again.stdout.contains("orders: 0 inserted, 0 updated, 2 unchanged"), "\(again.stdout)")
        let pages = try CLI.run(["query", "SELECT count(*) FROM _sheetsync_page_digests", "--format", "csv", "--project", project.url.path])
        #expect(csvValue(pages.stdout) == "1", "page 2 only: \(pages.stdout)")
        #expect(!databaseHoldsTheCanary(), "the canary is in the database")
        #expect(!(killed.stdout + killed.stderr + rerun.stdout + rerun.stderr + again.stdout + again.stderr).contains(Self.canary))
    }

    // MARK: - Canaries in data and in error bodies (issue 12)

    /// `Tests/SheetSyncCLITests/Fixtures/echo_api.py`: an API that returns placeholders as
    /// data, echoes the credentials it got in 401 bodies, and records what is pushed to it.
    func startEchoAPI(received: URL) async throws -> (Process, String) {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/echo_api.py")
        let server = Process()
        server.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        server.arguments = ["python3", script.path, received.path]
        let out = Pipe()
        server.standardOutput = out
        server.standardError = FileHandle.nullDevice
        try server.run()
        nonisolated(unsafe) let reader = out.fileHandleForReading
        let line = await offPool { String(decoding: reader.availableData, as: UTF8.self) }
        guard line.hasPrefix("http://127.0.0.1:") else {
            server.terminate()
            throw CocoaError(.fileReadUnknown)
        }
        return (server, line.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// The canary as a placeholder in pulled data and in a row written by sqlite3 (pushed
    /// on through a body template), and echoed by a server in 401 bodies — plain and cut
    /// at many offsets around the 200-character excerpt, JSON-escaped, percent-encoded —
    /// is found nowhere: not in any output, not in any byte of the database, not in what
    /// the receiver got.
    @Test func theCanaryNeverLeaksFromDataOrErrorBodies() async throws {
        var files: [String: String] = [
            "schema/notes.yml": "key: [id]\nfields: { id: text, note: text }\n",
            "jobs/pull-notes.yml": """
                kind: pull
                worksheet: notes
                request:
                  url: "{{env.API}}/notes"
                  headers: { Authorization: "Bearer {{secret.CANARY}}" }
                records: $.data
                fields: { id: $.id, note: $.note }
                """,
            "jobs/push-notes.yml": """
                kind: push
                worksheet: notes
                request:
                  url: "{{env.API}}/hooks/{{record.id}}"
                  headers: { X-Api-Key: "{{secret.CANARY}}" }
                  body: { json: { text: "{{record.note}}", id: "{{record.id}}" } }
                delivery: { signing_secret: "{{secret.SIGNING}}" }
                """,
        ]
        let offsets = [0, 100, 150, 170, 176, 180, 185, 190, 195, 199, 200, 210]
        for offset in offsets {
            files["jobs/fail-\(offset).yml"] = """
                kind: pull
                worksheet: notes
                request:
                  url: "{{env.API}}/fail?n=\(offset)"
                  headers: { Authorization: "Bearer {{secret.CANARY}}" }
                  retry: { attempts: 1 }
                records: $.data
                fields: { id: $.id }
                """
        }
        // Only previewed: a real run would store the echoed secret as the user's data.
        files["jobs/echo-notes.yml"] = files["jobs/pull-notes.yml"]!.replacingOccurrences(of: "/notes", with: "/notes?echo=1")
        for echo in ["fail-json", "fail-url"] {
            files["jobs/\(echo).yml"] = files["jobs/fail-0.yml"]!.replacingOccurrences(of: "/fail?n=0", with: "/\(echo)")
        }
        let project = try ProjectDirectory(files: files)
        let received = project.url.appendingPathComponent("received.txt")
        let (api, url) = try await startEchoAPI(received: received)
        // SIGKILL: the test process may pass SIGTERM on to its children ignored.
        defer {
            kill(api.processIdentifier, SIGKILL)
            api.waitUntilExit()
        }
        let path = project.url.path
        let environment = ["API": url, "CANARY": Self.canary, "SIGNING": "whsec_" + Data("signing-key".utf8).base64EncodedString()]
        var output = ""
        func sheetsync(_ arguments: [String]) async throws -> CLIResult {
            let all = arguments + ["--project", path]
            let result = try await offPool { try CLI.run(all, environment: environment) }
            output += result.stdout + result.stderr
            return result
        }
        #expect(try await sheetsync(["migrate"]).status == 0)
        #expect(try await sheetsync(["test", "pull-notes"]).status == 0)
        #expect(try await sheetsync(["run", "pull-notes", "--dry-run"]).status == 0)
        #expect(try await sheetsync(["run", "pull-notes", "--log-level", "trace"]).status == 0)
        // A row written by another tool, with the placeholder and its encoded forms.
        let shell = try await offPool { try sqlite3(path + "/sheetsync.db", "INSERT INTO notes (id, note) VALUES ('s1', '{{secret.CANARY}} %7B%7Bsecret.CANARY%7D%7D {{secret.CANARY|url}}')") }
        #expect(shell == 0)
        #expect(try await sheetsync(["push", "push-notes", "--dry-run"]).status == 0)
        let pushed = try await sheetsync(["push", "push-notes", "--log-level", "trace"])
        #expect(pushed.status == 0, "\(pushed.stdout)\(pushed.stderr)")
        for job in offsets.map({ "fail-\($0)" }) + ["fail-json", "fail-url"] {
            let failed = try await sheetsync(["run", job, "--log-level", "trace", "--log-format", "json"])
            #expect(failed.status == 1, "\(job): \(failed.stdout)\(failed.stderr)")
        }
        #expect(try await sheetsync(["test", "fail-190"]).status != 0)
        // Issue 16, item 1: a failed test shows the response (status, headers, body), masked.
        let shownFailure = try await sheetsync(["test", "fail-json"])
        #expect(shownFailure.status == 1)
        #expect(shownFailure.stdout.contains("\nHTTP 401\n"), "\(shownFailure.stdout)")
        #expect(shownFailure.stdout.contains(#""message": "bad credentials: Bearer ***""#), "\(shownFailure.stdout)")
        // Issue 16, item 2: a push job's test shows and sends one delivery, masked.
        let pushTest = try await sheetsync(["test", "push-notes", "--record", "s1", "--send"])
        #expect(pushTest.status == 0, "\(pushTest.stdout)\(pushTest.stderr)")
        #expect(pushTest.stdout.contains("X-Api-Key: ***") && pushTest.stdout.contains("HTTP 200"), "\(pushTest.stdout)")
        // The secret echoed as data: the rows table masks it before clipping its cells.
        let previewed = try await sheetsync(["test", "echo-notes"])
        #expect(previewed.status == 0 && previewed.stdout.contains("Bearer ***"), "\(previewed.stdout)")
        #expect(try await sheetsync(["run", "echo-notes", "--dry-run"]).status == 0)
        _ = try await sheetsync(["run", "fail-195", "--dry-run"])
        _ = try await sheetsync(["history", "--json"])
        _ = try await sheetsync(["status", "--json"])
        _ = try await sheetsync(["deliveries", "--json"])

        // The data went out as written …
        let got = (try? String(contentsOf: received, encoding: .utf8)) ?? ""
        #expect(got.contains(#"{"text":"{{secret.CANARY}}","id":"p0"}"#), "\(got)")
        #expect(got.contains("{{secret.NOT_SET}}"), "a placeholder naming an unset secret did not arrive as written")
        // Five pushed, and s1 once more by `test push-notes --send`, byte for byte as pushed.
        let lines = got.components(separatedBy: "\n").filter { !$0.isEmpty }
        #expect(lines.count == 6)
        #expect(lines.count == 6 && lines.filter { $0.contains(#""id":"s1""#) }.count == 2 && Set(lines.filter { $0.contains(#""id":"s1""#) }).count == 1)
        #expect(output.contains("***"), "nothing was masked, so nothing was tested")
        // … and the canary is nowhere.
        #expect(!got.contains(Self.canary), "the receiver got the secret from record data")
        #expect(!output.contains(Self.canary), "the canary is in the output")
        #expect(!output.contains("canary-SECRET"), "a piece of the canary is in the output")
        for suffix in ["", "-wal"] {
            guard let data = try? Data(contentsOf: project.url.appendingPathComponent("sheetsync.db" + suffix)) else { continue }
            #expect(data.range(of: Data(Self.canary.utf8)) == nil, "the canary is in sheetsync.db\(suffix)")
            #expect(data.range(of: Data("canary-SECRET".utf8)) == nil, "a piece of the canary is in sheetsync.db\(suffix)")
        }
    }

    /// The stock sqlite3 shell, for a row written by another tool.
    func sqlite3(_ database: String, _ sql: String) throws -> Int32 {
        let shell = Process()
        shell.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        shell.arguments = ["sqlite3", database, sql]
        try shell.run()
        shell.waitUntilExit()
        return shell.terminationStatus
    }
}
