import Foundation
import Testing

/// A paginated incremental run killed with SIGKILL at random points, then run again,
/// must end exactly where an uninterrupted run ends — on SQLite and on PostgreSQL.
struct CrashRecoveryTests {
    static let schema = DemoAndRunTests.root.appendingPathComponent("schema")

    static let job = """
        kind: pull
        worksheet: orders
        request:
          url: "{{env.SHOP_URL}}/v1/orders"
          query: { updated_since: "{{state.cursor}}" }
          headers: { Authorization: "Bearer {{secret.SHOP_TOKEN}}" }
        paginate: { style: page, size_param: per_page, size: 7, has_more: $.has_more }
        incremental: { cursor: $.updated_at, start: "2024-01-01T00:00:00Z" }
        records: $.data
        fields: { id: $.id, status: $.status, total: $.amount.value, updated_at: $.updated_at }
        children:
          - worksheet: order_items
            records: $.items
            fields: { order_id: $parent.id, sku: $.sku, quantity: $.quantity }
        """

    /// Starts `sheetsync demo serve` with 40 orders (6 pages of 7) and returns its URL.
    func startShop() throws -> (Process, String) {
        let serve = Process()
        serve.executableURL = CLI.binary
        serve.arguments = ["demo", "serve", "--port", "0", "--orders", "40", "--seed", "3"]
        let out = Pipe()
        serve.standardOutput = out
        serve.standardError = FileHandle.nullDevice
        try serve.run()
        let line = String(decoding: out.fileHandleForReading.availableData, as: UTF8.self)
        guard let url = line.split(separator: " ").first(where: { $0.hasPrefix("http://127.0.0.1:") }).map({ String($0.trimmingCharacters(in: CharacterSet(charactersIn: ";"))) }) else {
            serve.terminate()
            throw CocoaError(.fileReadUnknown)
        }
        return (serve, url)
    }

    func project() throws -> ProjectDirectory {
        var files: [String: String] = ["jobs/orders.yml": Self.job]
        for name in try FileManager.default.contentsOfDirectory(atPath: Self.schema.path) {
            files["schema/\(name)"] = try String(contentsOf: Self.schema.appendingPathComponent(name), encoding: .utf8)
        }
        return try ProjectDirectory(files: files)
    }

    func snapshot(_ path: String, _ database: [String: String] = [:]) throws -> String {
        let orders = try CLI.run(["query", "SELECT id, status, total, updated_at FROM orders ORDER BY id", "--format", "csv", "--project", path], environment: database).stdout
        let items = try CLI.run(["query", "SELECT order_id, sku, quantity FROM order_items ORDER BY order_id, sku", "--format", "csv", "--project", path], environment: database).stdout
        return orders + items
    }

    func state(_ path: String, _ database: [String: String] = [:]) throws -> [String: String] {
        var result: [String: String] = [:]
        for line in try CLI.run(["state", "orders", "--project", path], environment: database).stdout.split(separator: "\n") where line.contains("=") {
            let parts = line.split(separator: "=", maxSplits: 1)
            result[String(parts[0])] = String(parts[1])
        }
        return result
    }

    func maxUpdated(_ path: String, _ database: [String: String] = [:]) throws -> String {
        let csv = try CLI.run(["query", "SELECT max(updated_at) FROM orders", "--format", "csv", "--project", path], environment: database).stdout
        return csvValue(csv)
    }

    @Test(arguments: Backend.allCases)
    func killedRunsResumeToTheUninterruptedResult(backend: Backend) throws {
        let (shop, url) = try startShop()
        defer { shop.terminate(); shop.waitUntilExit() }
        let shopEnvironment = ["SHOP_URL": url, "SHOP_TOKEN": "demo-token"]

        // The reference is always an SQLite file: PostgreSQL must end where SQLite does.
        let reference = try project()
        let clean = try CLI.run(["run", "orders", "--project", reference.url.path], environment: shopEnvironment)
        #expect(clean.status == 0, "\(clean.stdout)\(clean.stderr)")
        #expect(clean.stdout.contains("in 6 pages"))
        let expected = try snapshot(reference.url.path)
        let expectedCursor = try state(reference.url.path)["cursor"]
        #expect(expectedCursor != nil)
        #expect(try state(reference.url.path).keys.sorted() == ["cursor"])

        var generator = SystemRandomNumberGenerator()
        let points = ["after-request", "mid-write", "after-commit"]
        var killedAt: [String] = []
        for _ in 0..<20 {
            let fault = "\(points.randomElement(using: &generator)!):\(Int.random(in: 1...6, using: &generator))"
            killedAt.append(fault)
            let crashed = try project()
            let path = crashed.url.path
            let database = try backend.freshDatabase()
            let environment = shopEnvironment.merging(database) { $1 }
            var faulty = environment
            faulty["SHEETSYNC_FAULT"] = fault
            let killed = try CLI.run(["run", "orders", "--project", path], environment: faulty)
            #expect(killed.status == 9, "run with \(fault) was not killed: \(killed.stdout)")
            // After the crash: the cursor has not moved ahead of the data.
            let during = try state(path, database)
            if let cursor = during["cursor"] {
                let committed = try maxUpdated(path, database)
                #expect(committed.hasPrefix("2024-"), "no max(updated_at) read: '\(committed)'")
                let parser = ISO8601DateFormatter()
                let cursorTime = try #require(parser.date(from: cursor)), committedTime = try #require(parser.date(from: committed))
                #expect(cursorTime <= committedTime, "cursor ahead of the data after \(fault)")
            }
            let rerun = try CLI.run(["run", "orders", "--project", path], environment: environment)
            #expect(rerun.status == 0, "re-run after \(fault): \(rerun.stdout)\(rerun.stderr)")
            #expect(try snapshot(path, database) == expected, "worksheet differs after \(fault)")
            let after = try state(path, database)
            #expect(after.keys.sorted() == ["cursor"], "state after \(fault): \(after)")
            #expect(after["cursor"] == expectedCursor, "cursor after \(fault)")
            // The killed run is not left 'running': the next start marked it interrupted.
            let statuses = try CLI.run(["query", "SELECT status FROM _sheetsync_runs ORDER BY id", "--format", "csv", "--project", path], environment: database).stdout
            #expect(statuses == "status\r\ninterrupted\r\nsucceeded\n", "runs after \(fault): \(statuses)")
        }
        print("crash points (\(backend)): \(killedAt.joined(separator: ", "))")
    }
}
