import Foundation
import Testing

/// `write: insert` and `write: update` (issue 16, item 8) through the real binary against
/// an API on 127.0.0.1 (`Fixtures/file_api.py`, whose answers are files the test writes).
struct WriteModeCLITests {
    static func job(write: String?) -> String {
        """
        kind: pull
        worksheet: orders
        request: { url: "{{env.API}}/orders", retry: { attempts: 1 } }
        \(write.map { "write: \($0)" } ?? "")
        records: $.data
        children:
          - worksheet: items
            records: $.items
            fields: { order_id: $parent.id, sku: $.sku, qty: $.qty }
        """
    }

    static let files: [String: String] = [
        "schema/orders.yml": "key: [id]\nfields:\n  id: text\n  status: text\n",
        "schema/items.yml": "key: [order_id, sku]\nfields:\n  order_id: text\n  sku: text\n  qty: integer\n",
        "jobs/orders-sync.yml": job(write: nil),
        "jobs/orders-add.yml": job(write: "insert"),
        "jobs/orders-update.yml": job(write: "update"),
    ]

    /// Every row of `orders` and `items`, read with the stock sqlite3 shell.
    static func rows(_ project: ProjectDirectory) throws -> String {
        let shell = Process()
        shell.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        shell.arguments = ["sqlite3", project.url.appendingPathComponent("sheetsync.db").path,
                           "SELECT group_concat(id || ':' || status, ' ') FROM (SELECT * FROM orders ORDER BY id); "
                               + "SELECT group_concat(order_id || sku || qty, ' ') FROM (SELECT * FROM items ORDER BY order_id, sku);"]
        let pipe = Pipe()
        shell.standardOutput = pipe
        try shell.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        shell.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    @Test func insertAndUpdateJobsWriteAndCountWhatTheirModeAllows() throws {
        let api = try ProjectDirectory(files: ["orders.json": """
            {"data": [{"id": "o1", "status": "new", "items": [{"sku": "A", "qty": 1}, {"sku": "B", "qty": 1}]}]}
            """])
        let (server, url) = try startFixture("file_api.py", [api.url.path])
        defer { server.stop() }
        let project = try ProjectDirectory(files: Self.files)
        let path = project.url.path
        let environment = ["API": url]
        func run(_ job: String) throws -> CLIResult { try CLI.run(["run", job, "--project", path], environment: environment) }

        let seed = try run("orders-sync")
        #expect(seed.status == 0, "\(seed.stderr)")
        #expect(seed.stdout.contains("orders: 1 inserted, 0 updated, 0 unchanged"), "\(seed.stdout)")

        // o1 changed (status, A's quantity, B gone, C new); o2 is new.
        try """
            {"data": [{"id": "o1", "status": "paid", "items": [{"sku": "A", "qty": 5}, {"sku": "C", "qty": 1}]},
                      {"id": "o2", "status": "new", "items": [{"sku": "X", "qty": 1}]}]}
            """.write(to: api.url.appendingPathComponent("orders.json"), atomically: true, encoding: .utf8)

        let add = try run("orders-add")
        #expect(add.status == 0, "\(add.stderr)")
        #expect(add.stdout.contains("orders: 1 inserted, 0 updated, 1 unchanged;"), "\(add.stdout)")
        #expect(add.stdout.contains("items: 2 inserted, 0 updated, 1 unchanged"), "\(add.stdout)")
        #expect(!add.stdout.contains("skipped"))
        #expect(!add.stdout.contains("removed"))
        #expect(try Self.rows(project) == "o1:new o2:new\no1A1 o1B1 o1C1 o2X1\n")

        // o3 is unknown to the worksheet: skipped with its item, not rejected.
        try """
            {"data": [{"id": "o1", "status": "paid", "items": [{"sku": "A", "qty": 5}, {"sku": "D", "qty": 1}]},
                      {"id": "o3", "status": "new", "items": [{"sku": "Y", "qty": 1}]}]}
            """.write(to: api.url.appendingPathComponent("orders.json"), atomically: true, encoding: .utf8)
        let update = try run("orders-update")
        #expect(update.status == 0, "\(update.stderr)")
        #expect(update.stdout.hasPrefix("orders-update: succeeded in "), "\(update.stdout)")
        #expect(update.stdout.contains("orders: 0 inserted, 1 updated, 0 unchanged, 1 skipped;"), "\(update.stdout)")
        #expect(update.stdout.contains("items: 0 inserted, 1 updated, 0 unchanged, 2 skipped"), "\(update.stdout)")
        #expect(!update.stdout.contains("rejected"))
        #expect(try Self.rows(project) == "o1:paid o2:new\no1A5 o1B1 o1C1 o2X1\n")

        let history = try CLI.run(["history", "--project", path])
        #expect(history.status == 0)
        let lines = history.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first?.contains(" skip ") == true, "\(history.stdout)")
        let updateLine = try #require(lines.first { $0.contains("orders-update") })
        let cells = updateLine.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        // run, job, trigger, started, status, req, ins, upd (o1 and its A), same, skip (o3, its Y, o1's D), rej
        #expect(Array(cells.dropFirst(4).prefix(7)) == ["succeeded", "1", "0", "2", "0", "3", "0"], "\(updateLine)")

        let json = try CLI.run(["history", "--json", "--project", path])
        let runs = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]])
        let counts = runs.map { "\($0["job"] ?? ""):\($0["skipped"] ?? "")" }
        #expect(counts == ["orders-update:3", "orders-add:0", "orders-sync:0"])
        #expect(try queryValue("SELECT skipped FROM _sheetsync_runs WHERE job = 'orders-update'", project: path) == "3")
    }

    @Test func validateRefusesAnUnknownWriteModeAtItsLine() throws {
        var files = Self.files
        files["jobs/orders-add.yml"] = Self.job(write: "insrt")
        files["jobs/orders-update.yml"] = Self.job(write: "update").replacingOccurrences(of: "    records: $.items", with: "    records: $.items\n    write: merge")
        let project = try ProjectDirectory(files: files)
        let result = try CLI.run(["validate", "--project", project.url.path], environment: ["API": "http://127.0.0.1:9"])
        #expect(result.status == 1)
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines == [
            "jobs/orders-add.yml:4:8: error: invalid value 'insrt' for 'write', did you mean 'insert'? (expected one of: upsert, insert, update)",
            "jobs/orders-update.yml:9:12: error: invalid value 'merge' for 'children.write' (expected one of: upsert, insert, update)",
            "2 errors in 2 files",
        ], "\(result.stdout)")
    }
}
