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
}
