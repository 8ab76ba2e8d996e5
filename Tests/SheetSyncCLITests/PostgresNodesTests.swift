import Foundation
import Testing

/// A node's heartbeat on PostgreSQL takes over the runs of a node that stopped heartbeating,
/// and never waits for a row lock to do it: a dead node's server process can keep a run's
/// row locked until it notices its client is gone, and a heartbeat that waited for it would
/// fail after `lock_timeout` (10 s) with every other run of the dead node unmarked with it.
struct PostgresNodesTests {
    @Test func heartbeatMarksADeadNodesRunsAndSkipsOneLockedElsewhere() throws {
        let server = try TemporaryPostgres.shared()
        let env = try Backend.postgres.freshDatabase()
        let url = try #require(env["SHEETSYNC_DB"])
        let project = try ProjectDirectory(files: [
            "schema/items.yml": "worksheet: items\nkey: [id]\nfields:\n  id: integer\n",
        ])
        let path = project.url.path
        #expect(try CLI.run(["migrate", "--project", path], environment: env).status == 0)
        func value(_ sql: String) throws -> String { try server.psql(url, sql).trimmingCharacters(in: .whitespacesAndNewlines) }

        // A node that stopped heartbeating a minute ago, with two runs still 'running' (of jobs
        // this project does not have: nothing is run again, only marked).
        let ids = try value("""
            INSERT INTO _sheetsync_nodes (id, host, pid, started_at, heartbeat_at) VALUES ('gone-host/boot/1|4242', 'gone-host', 4242, now() - interval '2 minutes', now() - interval '1 minute');
            INSERT INTO _sheetsync_runs (job, trigger, started_at, status, owner_pid, owner)
            VALUES ('elsewhere-a', 'schedule', now() - interval '70 seconds', 'running', 4242, 'gone-host/boot/1'),
                   ('elsewhere-b', 'schedule', now() - interval '70 seconds', 'running', 4242, 'gone-host/boot/1')
            RETURNING id
            """).split(separator: "\n").map(String.init)
        try #require(ids.count == 2, "\(ids)")
        let (free, locked) = (ids[0], ids[1])

        // Another client holds the second run's row for 20 s.
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/psql")
        holder.arguments = ["-X", "-q", "-c", "BEGIN; SELECT 1 FROM _sheetsync_runs WHERE id = \(locked) FOR UPDATE; SELECT pg_sleep(20); COMMIT;",
                            url.replacingOccurrences(of: "{{secret.PG_PASSWORD}}", with: server.environment["PG_PASSWORD"] ?? "")]
        holder.standardOutput = FileHandle.nullDevice
        try holder.run()
        defer { if holder.isRunning { holder.terminate() }; holder.waitUntilExit() }
        let holding = try eventually(within: 5, every: 0.1) {
            try value("SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid WHERE a.query LIKE '%pg_sleep(20)%' AND l.locktype = 'transactionid'") != "0"
        }
        try #require(holding, "the other client did not take the row lock")

        let (node, lines) = try ServeTests().startServe(path, environment: env)
        defer { stopGently(node) }
        // The free run is marked at the node's first beats, while the other is still held.
        let markedFree = try eventually(within: 10, every: 0.2) {
            try value("SELECT status FROM _sheetsync_runs WHERE id = \(free)") == "interrupted"
        }
        #expect(markedFree, "the dead node's unlocked run was not marked while another was locked: \(lines.all)")
        #expect(try value("SELECT status FROM _sheetsync_runs WHERE id = \(locked)") == "running")
        #expect(try value("SELECT error_message FROM _sheetsync_runs WHERE id = \(free)").contains("(gone-host, pid 4242) stopped heartbeating"))
        // Once the other client lets go, a later beat marks the held run too.
        holder.waitUntilExit()
        let markedLocked = try eventually(within: 6, every: 0.2) {
            try value("SELECT status FROM _sheetsync_runs WHERE id = \(locked)") == "interrupted"
        }
        #expect(markedLocked, "the run was not marked once its lock was let go: \(lines.all)")
        #expect(!lines.all.contains("heartbeat failed"), "\(lines.all)")
    }
}

/// A `sheetsync push` run by hand beside `serve` nodes is a node while it runs: the nodes
/// see its deliveries in flight as a live node's and leave them alone (they took them for
/// abandoned and sent them again), and it leaves the node list when it is done.
struct HandRunPushBesideNodesTests {
    @Test func theNodesLeaveAHandRunPushsDeliveriesInFlightAlone() throws {
        let server = try TemporaryPostgres.shared()
        let database = try Backend.postgres.freshDatabase()
        let url = try #require(database["SHEETSYNC_DB"])
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("sheetsync-received-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: log) }
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/slow_receiver.py")
        let receiver = Process()
        receiver.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        receiver.arguments = ["python3", script.path, log.path, "6"]
        let out = Pipe()
        receiver.standardOutput = out
        try receiver.run()
        defer { kill(receiver.processIdentifier, SIGKILL); receiver.waitUntilExit() }
        let erp = String(decoding: out.fileHandleForReading.availableData, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        try #require(erp.hasPrefix("http://127.0.0.1:"))

        let env = database.merging(["ERP_URL": erp]) { $1 }
        let project = try ProjectDirectory(files: [
            "schema/purchase_requests.yml": try String(contentsOf: DemoAndRunTests.root.appendingPathComponent("schema/purchase_requests.yml"), encoding: .utf8),
            "jobs/to-erp.yml": PushCLITests.job,
        ])
        let path = project.url.path
        #expect(try CLI.run(["migrate", "--project", path], environment: env).status == 0)
        func value(_ sql: String) throws -> String { try server.psql(url, sql).trimmingCharacters(in: .whitespacesAndNewlines) }
        _ = try value("INSERT INTO purchase_requests (id, title, status) VALUES ('p1', 'Desk', 'approved')")
        func received() -> [String] {
            ((try? String(contentsOf: log, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
        }

        // The pass by hand: its request is in flight at the receiver for 6 s.
        let push = Process()
        push.executableURL = CLI.binary
        push.arguments = ["push", "to-erp", "--project", path]
        push.environment = ProcessInfo.processInfo.environment.merging(env) { $1 }
        push.standardOutput = FileHandle.nullDevice
        push.standardError = FileHandle.nullDevice
        try push.run()
        defer { if push.isRunning { kill(push.processIdentifier, SIGKILL) }; push.waitUntilExit() }
        try #require(eventually(within: 10, every: 0.1) { received().count == 1 }, "the pass by hand sent nothing")
        #expect(try value("SELECT count(*) FROM _sheetsync_nodes") == "1", "the pass by hand is not a node while it runs")

        // A node starts meanwhile, and takes in and delivers what is due.
        let (node, lines) = try ServeTests().startServe(path, environment: env)
        defer { stopGently(node) }
        push.waitUntilExit()
        #expect(push.terminationStatus == 0)
        // The change arrived once: the node did not send what the pass had in flight.
        Thread.sleep(forTimeInterval: 2)
        #expect(received().count == 1, "sent \(received().count) times: \(received()) \(lines.all)")
        #expect(try value("SELECT state || ' ' || claimed_by FROM _sheetsync_deliveries").hasPrefix("delivered "))
        // The pass left the node list; the node is in it.
        #expect(try value("SELECT count(*) FROM _sheetsync_nodes WHERE pid = \(push.processIdentifier)") == "0")
        #expect(try value("SELECT count(*) FROM _sheetsync_nodes WHERE pid = \(node.processIdentifier)") == "1")
    }
}

/// A node whose connection holding a job's lock is lost (a network cut, a server restart,
/// an administrator's `pg_terminate_backend`) no longer runs that job alone: another node
/// may take the lock at the job's next fire. Its run stops at its next page, which is not
/// kept; the job's next run resumes there, with no gap and no duplicate.
struct LostJobLockTests {
    @Test func aRunWhoseLockIsLostWritesNoFurtherPageAndTheNextRunResumes() throws {
        let server = try TemporaryPostgres.shared()
        let database = try Backend.postgres.freshDatabase()
        let url = try #require(database["SHEETSYNC_DB"])
        let (api, apiURL) = try startFixture("paged_items.py", [])
        defer { api.stop() }
        let env = database.merging(["SLOW_URL": apiURL]) { $1 }
        let project = try ProjectDirectory(files: ClusterTests.slowFiles)
        let path = project.url.path
        #expect(try CLI.run(["migrate", "--project", path], environment: env).status == 0)
        func value(_ sql: String) throws -> String { try server.psql(url, sql).trimmingCharacters(in: .whitespacesAndNewlines) }
        let (node, lines) = try ServeTests().startServe(path, environment: env)
        defer { stopGently(node) }
        // A run a few pages in (30 pages of 0.3 s each).
        var run = ""
        let going = try eventually(within: 20, every: 0.2) {
            run = try value("""
                SELECT r.id FROM _sheetsync_runs r WHERE r.job = 'slow' AND r.status = 'running'
                AND (SELECT count(*) FROM _sheetsync_requests q WHERE q.run_id = r.id) >= 3
                """)
            return !run.isEmpty
        }
        try #require(going, "no run of 'slow' got going: \(lines.all)")

        // "Another node": ends the connection that holds the job's lock, takes the lock, and
        // counts the rows as it takes it and 4 s later (13 pages' time).
        let lockFilter = "locktype = 'advisory' AND objid = hashtext('pull:slow')::oid AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        let other = try TemporaryPostgres.run(URL(fileURLWithPath: "/usr/bin/psql"), [
            "-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1",
            "-c", "SELECT count(pg_terminate_backend(pid, 5000)) FROM pg_locks WHERE \(lockFilter)",
            "-c", "SELECT pg_advisory_lock(\(0x7368_6565), hashtext('pull:slow'))",
            "-c", "SELECT count(*) FROM items",
            "-c", "SELECT pg_sleep(4)",
            "-c", "SELECT count(*) FROM items",
            server.plain(url),
        ])
        try #require(other.status == 0, "\(other.stderr)")
        let counts = other.stdout.split(separator: "\n").map(String.init).filter { !$0.isEmpty }
        try #require(counts.count == 3, "\(other.stdout)")
        #expect(counts[0] == "1", "connections holding the lock ended: \(counts[0])")
        #expect(counts[1] == counts[2], "rows were written while another session held the job's lock: \(counts[1]) then \(counts[2]); \(lines.all)")

        let stopped = try eventually(within: 10, every: 0.2) { try value("SELECT status FROM _sheetsync_runs WHERE id = \(run)") != "running" }
        #expect(stopped, "\(lines.all)")
        #expect(try value("SELECT status || ' ' || coalesce(error_code, '') FROM _sheetsync_runs WHERE id = \(run)") == "interrupted interrupted")
        #expect(try value("SELECT error_message FROM _sheetsync_runs WHERE id = \(run)").contains("no longer holds job 'slow'"))

        // Once the lock is free, a later fire runs the job: it resumes, and every item is there once.
        let finished = try eventually(within: 30, every: 0.2) {
            try value("SELECT count(*) FROM _sheetsync_runs WHERE job = 'slow' AND status = 'succeeded' AND id > \(run)") != "0"
        }
        #expect(finished, "\(lines.all)")
        #expect(try value("SELECT count(*) || ' ' || min(id) || ' ' || max(id) FROM items") == "300 1 300")
        let resumed = try value("SELECT requests FROM _sheetsync_runs WHERE job = 'slow' AND status = 'succeeded' AND id > \(run) ORDER BY id LIMIT 1")
        #expect((Int(resumed) ?? 30) < 30, "the run after the lost lock did not resume: \(resumed) requests")
        #expect(node.isRunning)
    }
}
