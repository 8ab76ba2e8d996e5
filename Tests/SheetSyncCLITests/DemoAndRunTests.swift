import Foundation
import Testing

/// `demo`, `run`, `test` and `history` through the real binary.
struct DemoAndRunTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test func demoSyncsAndTheDatabaseOpensInSqlite3() throws {
        let directory = try ProjectDirectory(files: [:])
        let demoDir = directory.url.appendingPathComponent("demo").path
        let result = try CLI.run(["demo", "--dir", demoDir])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("shop-orders: succeeded"))
        #expect(result.stdout.contains("orders: 250 inserted"))
        #expect(result.stdout.contains("in 3 pages"))
        #expect(result.stdout.contains("orders: 0 inserted, 5 updated"))
        #expect(result.stdout.contains("customers: 50 inserted"))
        #expect(result.stdout.contains("Try next:"))
        #expect(result.stdout.contains("shipped-to-erp: "))
        #expect(!result.stdout.contains("shipped-to-erp: 0 delivered"))
        let shell = Process()
        shell.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        shell.arguments = ["sqlite3", demoDir + "/sheetsync.db", "SELECT count(*) FROM orders; SELECT count(*) > 0 FROM order_items;"]
        let pipe = Pipe()
        shell.standardOutput = pipe
        try shell.run()
        shell.waitUntilExit()
        #expect(String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self) == "250\n1\n")
        // The demo's files are the repository's examples.
        for folder in ["jobs", "schema"] {
            for name in try FileManager.default.contentsOfDirectory(atPath: Self.root.appendingPathComponent(folder).path) {
                let ours = try String(contentsOf: Self.root.appendingPathComponent("\(folder)/\(name)"), encoding: .utf8)
                let written = try String(contentsOf: URL(fileURLWithPath: "\(demoDir)/\(folder)/\(name)"), encoding: .utf8)
                #expect(ours == written, "\(folder)/\(name) differs from the demo's copy; run scripts/sync-demo-project")
            }
        }
        let history = try CLI.run(["history", "--project", demoDir])
        #expect(history.status == 0)
        #expect(history.stdout.contains("shop-orders"))
        #expect(history.stdout.contains("succeeded"))
        // Issue 18: a push run showed 0 in every count; it shows what it delivered.
        let pushLine = history.stdout.split(separator: "\n").first { $0.contains("shipped-to-erp") } ?? ""
        #expect(pushLine.contains(#/-\s+-\s+-\s+-\s+delivered [1-9]\d*, failed 0, skipped \d+, waiting 0/#), "\(history.stdout)")
        let json = try CLI.run(["history", "shipped-to-erp", "--json", "--project", demoDir])
        #expect(json.stdout.contains(#/"deliveries":\{"delivered":[1-9]\d*,"failed":0,/#), "\(json.stdout)")
    }

    @Test func runTestAndDryRunAgainstTheDemoShop() async throws {
        let serve = Process()
        serve.executableURL = CLI.binary
        serve.arguments = ["demo", "serve", "--port", "0", "--orders", "30"]
        let out = Pipe()
        serve.standardOutput = out
        serve.standardError = FileHandle.nullDevice
        try serve.run()
        defer { serve.terminate(); serve.waitUntilExit() }
        let firstLine = String(decoding: out.fileHandleForReading.availableData, as: UTF8.self)
        let url = try #require(firstLine.split(separator: " ").first { $0.hasPrefix("http://127.0.0.1:") }.map { String($0.trimmingCharacters(in: CharacterSet(charactersIn: ";"))) })

        var files: [String: String] = [:]
        for folder in ["jobs", "schema"] {
            for name in try FileManager.default.contentsOfDirectory(atPath: Self.root.appendingPathComponent(folder).path) {
                files["\(folder)/\(name)"] = try String(contentsOf: Self.root.appendingPathComponent("\(folder)/\(name)"), encoding: .utf8)
            }
        }
        let project = try ProjectDirectory(files: files)
        let environment = ["SHOP_URL": url, "SHOP_TOKEN": "demo-token"]
        let path = project.url.path

        let dry = try CLI.run(["run", "shop-orders", "--dry-run", "--project", path], environment: environment)
        #expect(dry.status == 0, "\(dry.stderr)")
        #expect(dry.stdout.contains("GET \(url)/v1/orders?status=any&updated_since=2024-01-01T00%3A00%3A00Z&page=1&per_page=100"))
        #expect(dry.stdout.contains("Authorization: Bearer ***"))
        #expect(!dry.stdout.contains("demo-token"))
        #expect(dry.stdout.contains("orders: would write 30 rows"))
        // Neither a dry run nor a test creates the database.
        #expect(!FileManager.default.fileExists(atPath: path + "/sheetsync.db"))

        let test = try CLI.run(["test", "shop-orders", "--project", path], environment: environment)
        #expect(test.status == 0, "\(test.stderr)")
        #expect(test.stdout.contains("HTTP 200"))
        #expect(test.stdout.contains("\"data\": ["))
        let inferred = try CLI.run(["test", "shop-customers", "--infer-schema", "--project", path], environment: environment)
        #expect(inferred.stdout.hasPrefix("worksheet: customers\nkey: [id]\nfields:\n  id: text\n  email: text\n"))
        #expect(inferred.stdout.contains("  vip: boolean\n  created_at: datetime"))
        #expect(!FileManager.default.fileExists(atPath: path + "/sheetsync.db"))

        let run = try CLI.run(["run", "shop-orders", "--project", path], environment: environment)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.hasPrefix("shop-orders: succeeded in "))
        #expect(run.stdout.contains("orders: 30 inserted, 0 updated, 0 unchanged"))
        let again = try CLI.run(["run", "shop-orders", "--project", path, "--param", "status=paid"], environment: environment)
        #expect(again.status == 0)
        #expect(again.stdout.contains("orders: 0 inserted, 0 updated"))
        let state = try CLI.run(["state", "shop-orders", "--project", path], environment: environment)
        #expect(state.stdout.hasPrefix("cursor=2024-01-"))
        let set = try CLI.run(["state", "shop-orders", "--set", "cursor=2023-01-01T00:00:00Z", "--project", path], environment: environment)
        #expect(set.status == 0)
        #expect(try CLI.run(["state", "shop-orders", "--project", path]).stdout == "cursor=2023-01-01T00:00:00Z\n")
        let refused = try CLI.run(["state", "shop-orders", "--reset", "--project", path])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("pass --yes"))
        let reset = try CLI.run(["state", "shop-orders", "--reset", "--yes", "--project", path])
        #expect(reset.status == 0)
        #expect(try CLI.run(["state", "shop-orders", "--project", path]).stdout == "shop-orders: no saved state\n")
        let unknown = try CLI.run(["run", "shop-ordres", "--project", path], environment: environment)
        #expect(unknown.status == 1)
        #expect(unknown.stderr.contains("no job 'shop-ordres'"))
        #expect(unknown.stderr.contains("did you mean 'shop-orders'?"))
    }

    @Test func aWrongTokenFailsWithTheServersMessageAndNoSecret() throws {
        var files = ProjectDirectory.orders
        files["jobs/o.yml"] = "kind: pull\nworksheet: orders\nrequest:\n  url: http://127.0.0.1:9/x\n  headers: { Authorization: \"Bearer {{secret.TOK}}\" }\n  retry: { attempts: 1 }\n"
        let project = try ProjectDirectory(files: files)
        let result = try CLI.run(["run", "o", "--project", project.url.path], environment: ["TOK": "canary-cli-77"])
        #expect(result.status == 1)
        #expect(result.stdout.contains("o: failed"))
        // The error once, on standard error (not again as a log line; issue 18).
        #expect(result.stderr.components(separatedBy: "cannot connect to 127.0.0.1:9").count == 2, "\(result.stderr)")
        #expect(!result.stdout.contains("cannot connect"), "\(result.stdout)")
        #expect(!(result.stdout + result.stderr).contains("canary-cli-77"))
        let missing = try CLI.run(["run", "o", "--project", project.url.path])
        #expect(missing.status == 1)
        #expect(missing.stderr.components(separatedBy: "'{{secret.TOK}}' has no value; export TOK=…").count == 2, "\(missing.stderr)")
    }
}
