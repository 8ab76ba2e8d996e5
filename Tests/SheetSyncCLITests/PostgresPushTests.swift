import Foundation
import Testing

/// A push project on a fresh PostgreSQL database, migrated, with the demo receiver running.
struct PostgresPushSetup {
    let receiver: Process
    let url: String
    let project: ProjectDirectory
    let env: [String: String]
    let databaseURL: String
    let server: TemporaryPostgres
    var path: String { project.url.path }

    /// `files`: the project (default `PushCLITests.project()`: purchase requests to the ERP).
    init(files: [String: String]? = nil) throws {
        let push = PushCLITests()
        project = try files.map { try ProjectDirectory(files: $0) } ?? push.project()
        server = try TemporaryPostgres.shared()
        (receiver, url) = try push.startReceiver(failRate: 0)
        env = try Backend.postgres.freshDatabase().merging(["ERP_URL": url]) { $1 }
        databaseURL = env["SHEETSYNC_DB"] ?? ""
        let migrate = try CLI.run(["migrate", "--project", project.url.path], environment: env)
        #expect(migrate.status == 0, "\(migrate.stderr)")
    }

    func stop() { receiver.terminate(); receiver.waitUntilExit() }
}

/// Push jobs on PostgreSQL, where it differs from SQLite: writers that commit out of
/// order, capture triggers through schema changes, keys of several typed columns.
/// (`PushCLITests` runs the common push tests on both stores.)
struct PostgresPushTests {
    let push = PushCLITests()

    /// A sequence number is taken when a change is captured, not when it commits: a change
    /// numbered before one already committed must still be delivered. Without the wait for
    /// capturing writers in `ingestChunk`, the first push moved the job's position past the
    /// open transaction's change and it was never sent.
    @Test func aChangeCommittedAfterALaterOneIsStillDelivered() throws {
        let setup = try PostgresPushSetup()
        defer { setup.stop() }
        let (url, path, env, databaseURL, server) = (setup.url, setup.path, setup.env, setup.databaseURL, setup.server)

        // A: captures 'late' first, commits 2 s later. B: captures 'early' after it and commits at once.
        let slow = Process()
        slow.executableURL = URL(fileURLWithPath: "/usr/bin/psql")
        slow.arguments = ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-c",
                          "BEGIN; INSERT INTO purchase_requests (id, title, status) VALUES ('late', 'Chair', 'approved'); SELECT pg_sleep(2); COMMIT;",
                          databaseURL.replacingOccurrences(of: "{{secret.PG_PASSWORD}}", with: TemporaryPostgres.password)]
        slow.standardOutput = FileHandle.nullDevice
        try slow.run()
        defer { if slow.isRunning { slow.terminate() }; slow.waitUntilExit() }
        Thread.sleep(forTimeInterval: 0.5)
        _ = try server.psql(databaseURL, "INSERT INTO purchase_requests (id, title, status) VALUES ('early', 'Desk', 'approved')")
        let seqs = try server.psql(databaseURL, "SELECT string_agg(record_key, ',' ORDER BY seq) FROM _sheetsync_outbox")
        #expect(seqs == "[\"early\"]\n", "only the committed change is visible yet: \(seqs)")

        let first = try CLI.run(["push", "to-erp", "--project", path], environment: env)
        #expect(first.status == 0, "\(first.stdout)\(first.stderr)")
        slow.waitUntilExit()
        #expect(slow.terminationStatus == 0)
        let second = try CLI.run(["push", "to-erp", "--project", path], environment: env)
        #expect(second.status == 0, "\(second.stdout)\(second.stderr)")
        let paths = Set(try push.received(url).map(\.path))
        #expect(paths == ["/hooks/purchase-requests/early", "/hooks/purchase-requests/late"], "\(paths)")
    }

    /// `migrate` runs before every job: unchanged capture triggers are left as they are
    /// (replacing one locks the table against every reader). A retyped or added field —
    /// which PostgreSQL refuses while a trigger's WHEN reads the column — gets triggers that
    /// watch it, in the same transaction; an update that changes no field captures nothing.
    @Test func captureTriggersFollowSchemaChangesAndAreNotReplacedOtherwise() throws {
        let setup = try PostgresPushSetup()
        defer { setup.stop() }
        let (url, project, path, env, databaseURL, server) = (setup.url, setup.project, setup.path, setup.env, setup.databaseURL, setup.server)
        let triggers = "SELECT string_agg(oid::text, ',' ORDER BY oid) FROM pg_trigger WHERE tgname LIKE '\\_sheetsync\\_capture\\_%'"
        let before = try server.psql(databaseURL, triggers)
        #expect(before.split(separator: ",").count == 3, "\(before)")
        #expect(try CLI.run(["migrate", "--project", path], environment: env).status == 0)
        #expect(try server.psql(databaseURL, triggers) == before)

        _ = try server.psql(databaseURL, "INSERT INTO purchase_requests (id, title, amount, status) VALUES ('r1', 'Desk', 10.50, 'approved')")
        #expect(try CLI.run(["push", "to-erp", "--project", path], environment: env).stdout.hasPrefix("to-erp: 1 delivered"))

        let schema = project.url.appendingPathComponent("schema/purchase_requests.yml")
        let text = try String(contentsOf: schema, encoding: .utf8)
        try text.replacingOccurrences(of: "amount: decimal", with: "amount: number\n  priority: integer")
            .write(to: schema, atomically: true, encoding: .utf8)
        let migrate = try CLI.run(["migrate", "--allow-destructive", "--project", path], environment: env)
        #expect(migrate.status == 0, "\(migrate.stdout)\(migrate.stderr)")
        let after = try server.psql(databaseURL, triggers)
        #expect(after.split(separator: ",").count == 3 && after != before, "\(after)")

        _ = try server.psql(databaseURL, "UPDATE purchase_requests SET title = title, erp_id = erp_id")  // no field changes
        _ = try server.psql(databaseURL, "UPDATE purchase_requests SET priority = 2 WHERE id = 'r1'")
        let second = try CLI.run(["push", "to-erp", "--project", path], environment: env)
        #expect(second.stdout.hasPrefix("to-erp: 1 delivered"), "\(second.stdout)\(second.stderr)")
        let bodies = try push.received(url).map(\.body)
        #expect(bodies.count == 2 && bodies[1].contains(#""priority":2"#) && bodies[1].contains(#""amount":10.5"#), "\(bodies)")
    }

    /// Keys of two typed columns: record keys read as in SQLite (`["w1",1]`), found again
    /// through the key's index, a key change captured as the old key's delete and the new
    /// key's update, a delete as a delete.
    @Test func compositeKeysAndDeletesAreCapturedLikeSQLite() throws {
        let setup = try PostgresPushSetup(files: [
            "schema/stock.yml": "worksheet: stock\nkey: [warehouse, sku]\nfields:\n  warehouse: text\n  sku: integer\n  quantity: decimal\n",
            "jobs/stock-out.yml": """
                kind: push
                worksheet: stock
                on: [insert, update, delete]
                request:
                  url: "{{env.ERP_URL}}/hooks/stock/{{record.warehouse}}-{{record.sku}}"
                delivery: { attempts: 3, backoff: [0s], concurrency: 2 }
                """,
        ])
        defer { setup.stop() }
        let (url, path, env, databaseURL, server) = (setup.url, setup.path, setup.env, setup.databaseURL, setup.server)
        _ = try server.psql(databaseURL, "INSERT INTO stock VALUES ('w1', 1, 5.00), ('w1', 2, 7.25)")
        let first = try CLI.run(["push", "stock-out", "--project", path], environment: env)
        #expect(first.stdout.hasPrefix("stock-out: 2 delivered"), "\(first.stdout)\(first.stderr)")
        _ = try server.psql(databaseURL, "DELETE FROM stock WHERE sku = 1")
        _ = try server.psql(databaseURL, "UPDATE stock SET sku = 99 WHERE sku = 2")
        let second = try CLI.run(["push", "stock-out", "--project", path], environment: env)
        #expect(second.stdout.hasPrefix("stock-out: 3 delivered"), "\(second.stdout)\(second.stderr)")
        let ledger = try server.psql(databaseURL, "SELECT record_key || ' ' || first_operation || ' ' || operation || ' ' || state FROM _sheetsync_deliveries ORDER BY id")
        #expect(ledger == """
            ["w1",1] insert insert delivered
            ["w1",2] insert insert delivered
            ["w1",1] delete delete delivered
            ["w1",2] delete delete delivered
            ["w1",99] update update delivered

            """, "\(ledger)")
        let got = try push.received(url)
        #expect(got.map(\.path).sorted() == ["/hooks/stock/w1-1", "/hooks/stock/w1-1", "/hooks/stock/w1-2", "/hooks/stock/w1-2", "/hooks/stock/w1-99"], "\(got.map(\.path))")
        let bodies = got.map(\.body)
        #expect(bodies.contains(#"{"warehouse":"w1","sku":1,"quantity":5.00}"#), "\(bodies)")
        #expect(bodies.contains(#"{"warehouse":"w1","sku":2,"_deleted":true}"#), "\(bodies)")
        #expect(bodies.contains(#"{"warehouse":"w1","sku":99,"quantity":7.25}"#), "\(bodies)")
    }
}

/// `LISTEN/NOTIFY` (issue 19): on PostgreSQL a push loop waits for a change of its
/// worksheet (or its next retry, or 30 s) instead of polling every second.
struct PostgresListenTests {
    @Test func aCapturedChangeWakesThePushLoopAtOnce() throws {
        let push = PushCLITests()
        let setup = try PostgresPushSetup()
        defer { setup.stop() }
        let (url, path, env, databaseURL, server) = (setup.url, setup.path, setup.env, setup.databaseURL, setup.server)
        let serve = ServeTests()
        let (node, lines) = try serve.startServe(path, environment: env)
        defer { node.terminate(); node.waitUntilExit() }
        let base = try serve.endpoint(lines)
        var listening = false
        for _ in 0..<100 where !listening {
            listening = lines.all.contains("listening for changes")
            if !listening { Thread.sleep(forTimeInterval: 0.1) }
        }
        try #require(listening, "\(lines.all)")
        Thread.sleep(forTimeInterval: 1.5)  // the loop's first pass is over; it now waits (up to 30 s)

        for round in 1...3 {
            let started = Date()
            _ = try server.psql(databaseURL, "INSERT INTO purchase_requests (id, title, status) VALUES ('n\(round)', 'Desk', 'approved')")
            var arrived = false
            while !arrived, Date().timeIntervalSince(started) < 10 {
                arrived = try push.received(url).contains { $0.path == "/hooks/purchase-requests/n\(round)" }
                if !arrived { Thread.sleep(forTimeInterval: 0.05) }
            }
            let seconds = Date().timeIntervalSince(started)
            #expect(arrived && seconds < 2, "round \(round): delivered after \(seconds) s")
            Thread.sleep(forTimeInterval: 1.2)
        }
        let metrics = try serve.curl(base + "/metrics")
        let woken = metrics.split(separator: "\n").first { $0.hasPrefix(#"sheetsync_push_wakeups_total{cause="change"}"#) }
        #expect((woken?.split(separator: " ").last.flatMap { Double($0) } ?? 0) >= 3, "\(metrics)")
    }
}
