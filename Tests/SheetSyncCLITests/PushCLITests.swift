import Foundation
import Testing

/// Push jobs through the real binary, against `sheetsync demo serve`'s webhook receiver,
/// on both stores (`Backend`): on PostgreSQL the capture triggers are PL/pgSQL and another
/// client is `psql` instead of `sqlite3`.
struct PushCLITests {
    static let job = """
        kind: push
        worksheet: purchase_requests
        when: "status = 'approved'"
        request:
          url: "{{env.ERP_URL}}/hooks/purchase-requests/{{record.id}}"
        delivery: { attempts: 10, backoff: [0s, 10ms, 50ms, 100ms, 200ms], concurrency: 8 }
        write_back: { erp_id: $.id }
        """

    func startReceiver(failRate: Double) throws -> (Process, String) {
        let serve = Process()
        serve.executableURL = CLI.binary
        serve.arguments = ["demo", "serve", "--port", "0", "--orders", "5", "--fail-rate", String(failRate)]
        let out = Pipe()
        serve.standardOutput = out
        serve.standardError = FileHandle.nullDevice
        try serve.run()
        let line = String(decoding: out.fileHandleForReading.availableData, as: UTF8.self)
        let url = line.split(separator: " ").first { $0.hasPrefix("http://127.0.0.1:") }.map { String($0.trimmingCharacters(in: CharacterSet(charactersIn: ";"))) }
        return (serve, url ?? "")
    }

    /// What the receiver got: (path, webhook-id, status) for each request.
    func received(_ url: String) throws -> [(path: String, id: String, status: Int, body: String)] {
        let curl = Process()
        curl.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        curl.arguments = ["curl", "-s", url + "/_demo/received"]
        let pipe = Pipe()
        curl.standardOutput = pipe
        try curl.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        curl.waitUntilExit()
        guard let list = try JSONSerialization.jsonObject(with: data) as? [[String: Any]] else { return [] }
        return list.map { item in
            let headers = item["headers"] as? [String: String] ?? [:]
            let id = headers.first { $0.key.lowercased() == "webhook-id" }?.value ?? ""
            return (item["path"] as? String ?? "", id, item["status"] as? Int ?? 0, item["body"] as? String ?? "")
        }
    }

    func project() throws -> ProjectDirectory {
        let schema = DemoAndRunTests.root.appendingPathComponent("schema/purchase_requests.yml")
        return try ProjectDirectory(files: ["schema/purchase_requests.yml": try String(contentsOf: schema, encoding: .utf8),
                                            "jobs/to-erp.yml": Self.job])
    }

    /// Another client's writes, on either store: `sqlite3` on the file, `psql` on the server.
    func otherClient(_ backend: Backend, path: String, environment: [String: String], _ sql: String) throws {
        switch backend {
        case .sqlite:
            let shell = Process()
            shell.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            shell.arguments = ["sqlite3", path + "/sheetsync.db", sql]
            try shell.run()
            shell.waitUntilExit()
            #expect(shell.terminationStatus == 0)
        case .postgres:
            _ = try TemporaryPostgres.shared().psql(environment["SHEETSYNC_DB"] ?? "", sql)
        }
    }

    @Test(arguments: Backend.allCases)
    func changesFromQueryWriteAndAnotherClientAreDeliveredAndDryRunSendsNothing(backend: Backend) throws {
        let (receiver, url) = try startReceiver(failRate: 0)
        defer { receiver.terminate(); receiver.waitUntilExit() }
        let project = try project()
        let path = project.url.path
        let env = try backend.freshDatabase().merging(["ERP_URL": url]) { $1 }
        #expect(try CLI.run(["migrate", "--project", path], environment: env).status == 0)
        #expect(try CLI.run(["query", "--write", "--project", path, "INSERT INTO purchase_requests (id, title, amount, status) VALUES ('q1', 'Desk', '99.90', 'approved')"], environment: env).status == 0)
        // Two sessions: in one `psql -c`, a BEGIN would take the INSERT before it into its transaction.
        try otherClient(backend, path: path, environment: env, "INSERT INTO purchase_requests (id, title, status) VALUES ('s1', 'Lamp', 'approved')")
        try otherClient(backend, path: path, environment: env, "BEGIN; UPDATE purchase_requests SET title = 'x'; ROLLBACK;")

        let dry = try CLI.run(["push", "to-erp", "--dry-run", "--project", path], environment: env)
        #expect(dry.status == 0, "\(dry.stderr)")
        #expect(dry.stdout.contains("2 request(s) would be sent"))
        #expect(dry.stdout.contains(#"{"id":"q1","title":"Desk","amount":99.90"#))
        // Issue 18: the headers really sent, not only User-Agent (ids are given when taken in).
        for header in ["Content-Type: application/json", "Idempotency-Key: chg_", "webhook-id: chg_", "webhook-timestamp: ", "X-Sheetsync-Operation: insert"] {
            #expect(dry.stdout.contains(header), "\(header) missing from \(dry.stdout)")
        }
        #expect(try received(url).isEmpty)

        let push = try CLI.run(["push", "to-erp", "--project", path], environment: env)
        #expect(push.status == 0, "\(push.stdout)\(push.stderr)")
        #expect(push.stdout.hasPrefix("to-erp: 2 delivered, 0 failed"))
        let got = try received(url)
        #expect(Set(got.map(\.path)) == ["/hooks/purchase-requests/q1", "/hooks/purchase-requests/s1"])
        #expect(!got.contains { $0.body.contains("\"x\"") })
        let ledger = try CLI.run(["deliveries", "to-erp", "--state", "delivered", "--project", path], environment: env)
        #expect(ledger.stdout.contains("delivered"))
        let written = try CLI.run(["query", "SELECT count(*) AS n FROM purchase_requests WHERE erp_id LIKE 'erp-%'", "--format", "csv", "--project", path], environment: env)
        #expect(written.stdout == "n\r\n2\n")
        // The write-back is the job's own change: the next push finds nothing to send.
        let again = try CLI.run(["push", "to-erp", "--project", path], environment: env)
        #expect(again.stdout.hasPrefix("to-erp: 0 delivered, 0 failed, 0 skipped"), "\(again.stdout)\(again.stderr)")
        #expect(try received(url).count == 2)
    }

    /// Issue 14, item 5: a `when` that is not SQL over the worksheet is a `validate` error at
    /// its line, and no command runs the job (so `serve` cannot record a failed run every second).
    @Test func validateCompilesEveryWhenConditionAgainstTheWorksheet() throws {
        let project = try project()
        let path = project.url.path
        try Self.job.replacingOccurrences(of: "when: \"status = 'approved'\"", with: "when: \"status = \"")
            .write(to: project.url.appendingPathComponent("jobs/to-erp.yml"), atomically: true, encoding: .utf8)
        try Self.job.replacingOccurrences(of: "when: \"status = 'approved'\"", with: "when: \"stauts = 'approved'\"")
            .write(to: project.url.appendingPathComponent("jobs/typo.yml"), atomically: true, encoding: .utf8)
        try Self.job.replacingOccurrences(of: "when: \"status = 'approved'\"", with: "when: \"1); DROP TABLE purchase_requests; SELECT (1\"")
            .write(to: project.url.appendingPathComponent("jobs/two.yml"), atomically: true, encoding: .utf8)
        let validate = try CLI.run(["validate", "--project", path], environment: ["ERP_URL": "http://127.0.0.1:9"])
        #expect(validate.status == 1)
        #expect(validate.stdout.contains(#"jobs/to-erp.yml:3:7: error: 'when' is not a valid SQL condition over worksheet 'purchase_requests': near ")": syntax error"#), "\(validate.stdout)")
        #expect(validate.stdout.contains(#"jobs/typo.yml:3:7: error: 'when' is not a valid SQL condition over worksheet 'purchase_requests': no such column: stauts"#), "\(validate.stdout)")
        #expect(validate.stdout.contains("jobs/two.yml:3:7: error: 'when' is not a valid SQL condition"), "\(validate.stdout)")
        let push = try CLI.run(["push", "to-erp", "--project", path], environment: ["ERP_URL": "http://127.0.0.1:9"])
        #expect(push.status == 1)
        #expect(push.stderr.contains("jobs/to-erp.yml:3:7"), "\(push.stderr)")
        // Refused before the database is opened: no run is recorded anywhere.
        #expect(!FileManager.default.fileExists(atPath: path + "/sheetsync.db"))
    }

    /// Issue 14: an answer that kills the process (here the receiver SIGKILLs `sheetsync
    /// push` when the request arrives) was never counted as an attempt, so every restart sent
    /// it again, forever. Attempts are counted before the request goes out: after `attempts`
    /// the delivery fails, with no further request.
    @Test(arguments: Backend.allCases)
    func aPoisonAnswerUsesUpAttemptsInsteadOfLoopingForever(backend: Backend) throws {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("sheetsync-poison-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/poison_api.py")
        let receiver = Process()
        receiver.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        receiver.arguments = ["python3", script.path, work.path]
        let out = Pipe()
        receiver.standardOutput = out
        receiver.standardError = FileHandle.nullDevice
        try receiver.run()
        defer { kill(receiver.processIdentifier, SIGKILL); receiver.waitUntilExit() }
        let url = String(decoding: out.fileHandleForReading.availableData, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        try #require(url.hasPrefix("http://127.0.0.1:"), "the poison receiver did not start: \(url)")

        let job = Self.job.replacingOccurrences(of: "delivery: { attempts: 10, backoff: [0s, 10ms, 50ms, 100ms, 200ms], concurrency: 8 }",
                                                with: "delivery: { attempts: 3, backoff: [0s], concurrency: 1 }")
        let project = try project()
        try job.write(to: project.url.appendingPathComponent("jobs/to-erp.yml"), atomically: true, encoding: .utf8)
        let path = project.url.path
        let env = try backend.freshDatabase().merging(["ERP_URL": url]) { $1 }
        #expect(try CLI.run(["migrate", "--project", path], environment: env).status == 0)
        #expect(try CLI.run(["query", "--write", "--project", path, "INSERT INTO purchase_requests (id, title, status) VALUES ('p1', 'Desk', 'approved')"], environment: env).status == 0)

        let received = work.appendingPathComponent("received"), pidFile = work.appendingPathComponent("pid")
        var statuses: [Int32] = []
        for _ in 0..<6 {
            let push = Process()
            push.executableURL = CLI.binary
            push.arguments = ["push", "to-erp", "--project", path]
            push.environment = ProcessInfo.processInfo.environment.merging(env) { $1 }
            push.standardOutput = FileHandle.nullDevice
            push.standardError = FileHandle.nullDevice
            try push.run()
            try String(push.processIdentifier).write(to: pidFile, atomically: true, encoding: .utf8)
            push.waitUntilExit()
            try? FileManager.default.removeItem(at: pidFile)  // never a stale pid for the receiver to kill
            statuses.append(push.terminationReason == .uncaughtSignal ? -push.terminationStatus : push.terminationStatus)
        }
        let requests = (try? String(contentsOf: received, encoding: .utf8))?.split(separator: "\n") ?? []
        #expect(requests.count == 3, "\(requests.count) requests for 3 attempts: \(requests)")
        #expect(Set(requests.map { $0.split(separator: " ").last ?? "" }).count == 1, "the attempts did not share their change id")
        // Three runs killed by the answer, then one that fails the delivery without a request, then nothing to do.
        #expect(statuses == [-SIGKILL, -SIGKILL, -SIGKILL, 2, 0, 0], "\(statuses)")
        let ledger = try CLI.run(["deliveries", "to-erp", "--json", "--project", path], environment: env)
        #expect(ledger.stdout.contains(#""state":"failed""#), "\(ledger.stdout)")
        #expect(ledger.stdout.contains(#""attempts":3"#), "\(ledger.stdout)")
        #expect(ledger.stdout.contains("attempts exhausted (3 made"), "\(ledger.stdout)")
    }

    /// Issue 16, item 2: `sheetsync test PUSHJOB` refused ("…once push jobs exist"). It shows
    /// one record's delivery as it would go, and with --send sends it once; the ledger is untouched.
    @Test(arguments: Backend.allCases)
    func testShowsAndSendsOnePushDeliveryWithoutTouchingTheLedger(backend: Backend) throws {
        let (receiver, url) = try startReceiver(failRate: 0)
        defer { receiver.terminate(); receiver.waitUntilExit() }
        let project = try project()
        let path = project.url.path
        let env = try backend.freshDatabase().merging(["ERP_URL": url]) { $1 }
        #expect(try CLI.run(["migrate", "--project", path], environment: env).status == 0)
        #expect(try CLI.run(["query", "--write", "--project", path, "INSERT INTO purchase_requests (id, title, amount, status) VALUES ('q1', 'Desk', '99.90', 'approved'), ('q2', 'Lamp', '5', 'draft')"], environment: env).status == 0)

        // The latest changed record by default (q2 fails 'when': shown, with a note), nothing sent.
        let shown = try CLI.run(["test", "to-erp", "--project", path], environment: env)
        #expect(shown.status == 0, "\(shown.stdout)\(shown.stderr)")
        #expect(shown.stdout.contains("POST \(url)/hooks/purchase-requests/q2"), "\(shown.stdout)")
        #expect(shown.stderr.contains("'when' is false for record [\"q2\"]"), "\(shown.stderr)")
        #expect(shown.stdout.contains("Idempotency-Key: chg_"))
        #expect(shown.stdout.contains(#"{"id":"q2","title":"Lamp","amount":5"#), "\(shown.stdout)")
        #expect(try received(url).isEmpty)

        let sent = try CLI.run(["test", "to-erp", "--record", "q1", "--send", "--project", path], environment: env)
        #expect(sent.status == 0, "\(sent.stdout)\(sent.stderr)")
        #expect(sent.stdout.contains("HTTP 200"), "\(sent.stdout)")
        let got = try received(url)
        #expect(got.map(\.path) == ["/hooks/purchase-requests/q1"])
        #expect(got.first?.body.contains(#""amount":99.90"#) == true)
        // The ledger, the outbox position and the history are untouched.
        let ledger = try CLI.run(["deliveries", "to-erp", "--project", path], environment: env)
        #expect(ledger.stderr.contains("No deliveries"), "\(ledger.stdout)\(ledger.stderr)")
        let runs = try CLI.run(["query", "SELECT count(*) FROM _sheetsync_runs", "--format", "csv", "--project", path], environment: env)
        #expect(csvValue(runs.stdout) == "0")
        // A real push still sends both changes afterwards (q1 under a new id).
        let push = try CLI.run(["push", "to-erp", "--project", path], environment: env)
        #expect(push.stdout.hasPrefix("to-erp: 1 delivered, 0 failed, 1 skipped"), "\(push.stdout)")

        let unknown = try CLI.run(["test", "to-erp", "--record", "[\"a\", 1]", "--project", path], environment: env)
        #expect(unknown.status == 1)
        #expect(unknown.stderr.contains("has 2 value(s); the key of 'purchase_requests' is [id]"), "\(unknown.stderr)")
    }

    @Test(arguments: Backend.allCases)
    func killedPushesLoseNothingAndDuplicatesKeepTheirIds(backend: Backend) throws {
        let (receiver, url) = try startReceiver(failRate: 0.3)
        defer { receiver.terminate(); receiver.waitUntilExit() }
        let project = try project()
        let path = project.url.path
        let env = try backend.freshDatabase().merging(["ERP_URL": url]) { $1 }
        #expect(try CLI.run(["migrate", "--project", path], environment: env).status == 0)
        // SQLite keeps a decimal as its text; PostgreSQL's numeric column takes no text expression.
        let amount = backend == .sqlite ? "i || '.50'" : "(i || '.50')::numeric"
        let insert = try CLI.run(["query", "--write", "--project", path, """
            WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000)
            INSERT INTO purchase_requests (id, title, amount, status) SELECT 'pr-' || i, 'Request ' || i, \(amount), 'approved' FROM n
            """], environment: env)
        #expect(insert.status == 0, "\(insert.stderr)")

        var generator = SystemRandomNumberGenerator()
        for _ in 0..<20 {
            let push = Process()
            push.executableURL = CLI.binary
            push.arguments = ["push", "to-erp", "--wait", "30s", "--project", path]
            push.environment = ProcessInfo.processInfo.environment.merging(env) { $1 }
            push.standardOutput = FileHandle.nullDevice
            push.standardError = FileHandle.nullDevice
            try push.run()
            Thread.sleep(forTimeInterval: Double.random(in: 0.02...0.25, using: &generator))
            kill(push.processIdentifier, SIGKILL)
            push.waitUntilExit()
        }
        let final = try CLI.run(["push", "to-erp", "--wait", "60s", "--project", path], environment: env)
        let failedRows = try CLI.run(["query", "SELECT record_key, attempts, last_status, last_error, reason FROM _sheetsync_deliveries WHERE state = 'failed'", "--project", path], environment: env)
        #expect(final.status == 0, "\(final.stdout)\(final.stderr)\n\(failedRows.stdout)")
        let pending = try CLI.run(["deliveries", "to-erp", "--state", "pending", "--project", path], environment: env)
        #expect(pending.stderr.contains("No deliveries"), "\(pending.stdout)")

        let got = try received(url)
        var byRecord: [String: [(id: String, status: Int)]] = [:]
        for item in got where item.path.hasPrefix("/hooks/purchase-requests/") {
            byRecord[String(item.path.dropFirst("/hooks/purchase-requests/".count)), default: []].append((item.id, item.status))
        }
        #expect(byRecord.count == 1000, "records that reached the receiver: \(byRecord.count)")
        for (record, attempts) in byRecord {
            #expect(attempts.contains { $0.status == 200 }, "\(record) was never acknowledged")
            #expect(Set(attempts.map(\.id)).count == 1, "\(record) arrived under different ids")
        }
        #expect(got.count > 1000, "a 30% failure rate should have caused retries")
    }
}
