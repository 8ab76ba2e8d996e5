import Foundation
import GRDB
import Hummingbird
import NIOCore
import Testing
import SheetSyncCore
import SheetSyncDemo
@testable import SheetSyncRunner
import SheetSyncStore
import SheetSyncTesting

/// A webhook receiver whose answers the test scripts: a queue of statuses (then 200),
/// an optional delay, and everything it received.
actor ScriptedReceiver {
    struct Received: Sendable {
        var path: String
        var headers: [String: String]
        var body: String
        var at: ContinuousClock.Instant
    }

    var statuses: [Int] = []
    var delay: Duration = .zero
    var received: [Received] = []
    var counter = 0

    func script(_ statuses: [Int], delay: Duration = .zero) {
        self.statuses = statuses
        self.delay = delay
    }

    func take(_ received: Received) -> (Int, Duration, Int) {
        self.received.append(received)
        counter += 1
        return (statuses.isEmpty ? 200 : statuses.removeFirst(), delay, counter)
    }

    static func router(_ receiver: ScriptedReceiver) -> Router<BasicRequestContext> {
        let router = Router()
        router.post("/**") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 1 << 20)
            var headers: [String: String] = [:]
            for field in request.headers { headers[field.name.canonicalName.lowercased()] = field.value }
            let (status, delay, number) = await receiver.take(Received(path: request.uri.path, headers: headers, body: String(buffer: body), at: .now))
            if delay > .zero { try await Task.sleep(for: delay) }
            return Response(status: .init(code: status), headers: [.contentType: "application/json"],
                            body: .init(byteBuffer: ByteBuffer(string: #"{"id": "erp-\#(number)"}"#)))
        }
        return router
    }
}

struct PushTests {
    static let schema = """
        key: [id]
        fields:
          id: text
          title: text
          amount: decimal
          qty: integer
          rate: number
          urgent: boolean
          approved_at: datetime
          status: text
          note: text
          erp_id: text
          extra: json
        """

    /// - Parameter timeout: short only where a test is about timeouts; elsewhere a loaded
    ///   machine (the suites run in parallel) must not turn a slow answer into a retry.
    static func job(backoff: String = "[0s, 50ms, 100ms, 150ms]", attempts: Int = 10, timeout: String = "5s", extra: String = "") -> String {
        """
        kind: push
        worksheet: requests
        when: "status = 'approved'"
        on: [insert, update, delete]
        fields: [id, title, amount, qty, rate, urgent, approved_at, status, extra, erp_id]
        request:
          url: "{{env.ERP}}/hooks/requests/{{record.id}}"
          timeout: \(timeout)
        delivery: { attempts: \(attempts), backoff: \(backoff), signing_secret: "{{secret.SIGNING}}" }
        write_back: { erp_id: $.id }
        \(extra)
        """
    }

    /// Runs `test` with `receiver` on 127.0.0.1 and a migrated harness for `job`; the server
    /// and the harness are stopped when `test` returns or throws.
    func withReceiver(_ receiver: ScriptedReceiver, job: String = PushTests.job(), backend: Backend = .sqlite,
                      _ test: (Harness, LoopbackServer) async throws -> Void) async throws {
        try await withLoopbackServer(ScriptedReceiver.router(receiver)) { server in
            try await withHarness(files: ["schema/requests.yml": Self.schema, "jobs/push.yml": job,
                                          "sheetsync.yml": "env: { ERP: '\(server.baseURL)' }\n"],
                                  environment: ["SIGNING": "whsec_" + Data("test-secret".utf8).base64EncodedString()], backend: backend) { harness in
                try harness.database.migrate(harness.project.worksheets, captured: harness.project.capturedWorksheets, pushJobs: harness.project.pushJobWorksheets)
                try await test(harness, server)
            }
        }
    }

    func sql(_ harness: Harness, _ statement: String) throws {
        try harness.execute(statement)
    }

    @Test(arguments: Backend.allCases) func sendsTheRecordWithTypesIdsAndSignatureThenWritesBack(_ backend: Backend) async throws {
        let receiver = ScriptedReceiver()
        try await withReceiver(receiver, backend: backend) { harness, _ in
            try sql(harness, """
                INSERT INTO requests (id, title, amount, qty, rate, urgent, approved_at, status, note, extra)
                VALUES ('pr-1', 'Laptops', '123456789012345678.905', 3, 0.25, true, '2024-03-10T12:00:00Z', 'approved', 'internal', '{"a":[1,2]}');
                INSERT INTO requests (id, title, status) VALUES ('pr-2', 'Chairs', 'draft');
                """)
            let summary = await harness.runner.push(try harness.job("push"))
            #expect(summary.delivered == 1, "\(summary.line)")
            #expect(summary.skipped == 1)
            let received = await receiver.received
            #expect(received.count == 1)
            let first = try #require(received.first)
            #expect(first.path == "/hooks/requests/pr-1")
            #expect(first.body == #"{"id":"pr-1","title":"Laptops","amount":123456789012345678.905,"qty":3,"rate":0.25,"urgent":true,"approved_at":"2024-03-10T12:00:00Z","status":"approved","erp_id":null,"extra":{"a":[1,2]}}"#)
            #expect(!first.body.contains("internal"))
            let id = try #require(first.headers["webhook-id"])
            #expect(first.headers["idempotency-key"] == id)
            #expect(first.headers["webhook-signature"]?.hasPrefix("v1,") == true)
            #expect(first.headers["x-sheetsync-operation"] == "insert")
            let timestamp = try #require(first.headers["webhook-timestamp"].flatMap { Int64($0) })
            #expect(abs(timestamp - Int64(Date().timeIntervalSince1970)) < 30)
            // write_back stored the receiver's id, and writing it back is not a new change to send.
            #expect(try harness.rows("SELECT erp_id FROM requests WHERE id = 'pr-1'")[0][0] as String == "erp-1")
            let again = await harness.runner.push(try harness.job("push"))
            #expect(again.delivered == 0)
            #expect(await receiver.received.count == 1)
        }
    }

    @Test func changesFromAnyWriterAreCapturedAndRollbacksAreNot() async throws {
        let receiver = ScriptedReceiver()
        try await withReceiver(receiver) { harness, _ in
            let sheet = try #require(harness.project.worksheet(named: "requests"))
            // 1. an upsert as a pull job writes
            _ = try harness.sqlite.upsert(RowBatch(columns: ["id", "title", "status"], rows: [[.text("a"), .text("A"), .text("approved")]]), into: sheet, source: "pull")
            // 2. the stock sqlite3 shell in a child process
            let shell = Process()
            shell.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            shell.arguments = ["sqlite3", harness.project.databaseURL().path,
                               "INSERT INTO requests (id, title, status) VALUES ('b', 'B', 'approved'); BEGIN; INSERT INTO requests (id, title, status) VALUES ('c', 'C', 'approved'); ROLLBACK;"]
            try shell.run()
            shell.waitUntilExit()
            #expect(shell.terminationStatus == 0)
            // 3. an update that changes nothing leaves nothing
            try sql(harness, "UPDATE requests SET title = 'A' WHERE id = 'a'")
            #expect(try harness.count("_sheetsync_outbox") == 2)
            let summary = await harness.runner.push(try harness.job("push"))
            #expect(summary.delivered == 2, "\(summary.line)")
            #expect(Set(await receiver.received.map(\.path)) == ["/hooks/requests/a", "/hooks/requests/b"])
            // 4. a delete is delivered as one, with the key
            try sql(harness, "DELETE FROM requests WHERE id = 'a'")
            _ = await harness.runner.push(try harness.job("push"))
            let last = try #require(await receiver.received.last)
            #expect(last.body == #"{"id":"a","_deleted":true}"#)
            #expect(last.headers["x-sheetsync-operation"] == "delete")
        }
    }

    @Test(arguments: Backend.allCases) func retriesWithTheSameIdAtGrowingDelays(_ backend: Backend) async throws {
        let receiver = ScriptedReceiver()
        await receiver.script([500, 500, 500, 200])
        try await withReceiver(receiver, job: Self.job(backoff: "[0s, 200ms, 1s, 2s]"), backend: backend) { harness, _ in
            try sql(harness, "INSERT INTO requests (id, title, status) VALUES ('r', 'R', 'approved')")
            // `wait` only bounds the pass (it returns once delivered); generous for loaded machines.
            let summary = await harness.runner.push(try harness.job("push"), wait: .seconds(30))
            #expect(summary.delivered == 1, "\(summary.line)")
            let received = await receiver.received
            try #require(received.count == 4)
            #expect(Set(received.compactMap { $0.headers["webhook-id"] }).count == 1)
            #expect(Set(received.map(\.body)).count == 1)
            let gaps = zip(received.dropFirst(), received).map { $0.at - $1.at }
            #expect(gaps[1] > gaps[0] && gaps[2] > gaps[1], "delays did not grow: \(gaps)")
            #expect(try harness.rows("SELECT attempts, state FROM _sheetsync_deliveries")[0]["attempts"] as Int == 4)
            // The request log numbers each request as the delivery's attempt (it said 1 for every one).
            #expect(try harness.rows("SELECT attempt FROM _sheetsync_requests ORDER BY id").map { $0["attempt"] as Int } == [1, 2, 3, 4])
        }
    }

    @Test(arguments: Backend.allCases) func aSlowReceiverFailsAndTenFailuresAreFinalUntilReplayed(_ backend: Backend) async throws {
        let receiver = ScriptedReceiver()
        await receiver.script([500, 500, 500, 500, 500, 500, 500, 500, 500], delay: .zero)
        try await withReceiver(receiver, job: Self.job(backoff: "[0s, 10ms]", timeout: "300ms"), backend: backend) { harness, _ in
            try sql(harness, "INSERT INTO requests (id, title, status) VALUES ('s', 'S', 'approved')")
            // The 10th answer comes after the 300 ms timeout.
            // `wait` only bounds the pass (it returns once the delivery has failed for good).
            let summary = await withDelayOnTenth(receiver) { await harness.runner.push(try! harness.job("push"), wait: .seconds(30)) }
            #expect(summary.failed == 1, "\(summary.line)")
            #expect(summary.exitCode == 2)
            let delivery = try harness.rows("SELECT state, attempts, last_error FROM _sheetsync_deliveries")[0]
            #expect(delivery["state"] as String == "failed")
            #expect(delivery["attempts"] as Int == 10)
            #expect((delivery["last_error"] as String).contains("within 300ms"))
            #expect(await receiver.received.count == 10)

            await receiver.script([])
            let replayed = try harness.database.replay(job: "push", changeID: nil, failedOnly: true, since: nil)
            #expect(replayed == 1)
            // With a wait: on a loaded machine an answer can miss the 300 ms timeout; the retry
            // goes under the same id (checked below), which is what this test is about.
            let later = await harness.runner.push(try harness.job("push"), wait: .seconds(30))
            #expect(later.delivered == 1, "\(later.line)")
            let ids = Set(await receiver.received.compactMap { $0.headers["webhook-id"] })
            #expect(ids.count == 1)
        }
    }

    func withDelayOnTenth(_ receiver: ScriptedReceiver, _ body: () async -> PushSummary) async -> PushSummary {
        // Nine 500s are queued; the tenth request gets 200 but only after the timeout.
        await receiver.script([500, 500, 500, 500, 500, 500, 500, 500, 500, 200], delay: .zero)
        let watcher = Task {
            while await receiver.received.count < 9 { try await Task.sleep(for: .milliseconds(5)) }
            await receiver.script([200], delay: .milliseconds(800))
        }
        let summary = await body()
        watcher.cancel()
        return summary
    }

    @Test(arguments: Backend.allCases) func coalescesUpdatesAndSkipsUnchangedContent(_ backend: Backend) async throws {
        let receiver = ScriptedReceiver()
        try await withReceiver(receiver, backend: backend) { harness, _ in
            try sql(harness, "INSERT INTO requests (id, title, qty, status) VALUES ('c', 'C', 0, 'approved')")
            for n in 1...5 { try sql(harness, "UPDATE requests SET qty = \(n) WHERE id = 'c'") }
            let first = await harness.runner.push(try harness.job("push"))
            #expect(first.delivered == 1)
            let received = await receiver.received
            try #require(received.count == 1)
            #expect(received[0].body.contains(#""qty":5"#))
            // A change of a field the job does not send ('note') makes no request.
            try sql(harness, "UPDATE requests SET note = 'just a note' WHERE id = 'c'")
            let second = await harness.runner.push(try harness.job("push"))
            #expect(second.delivered == 0)
            #expect(second.skipped == 1)
            #expect(await receiver.received.count == 1)
            #expect(try harness.rows("SELECT reason FROM _sheetsync_deliveries WHERE state = 'skipped'")[0][0] as String == "pushed fields unchanged since the last delivery")
        }
    }

    @Test(arguments: Backend.allCases) func goneStopsTheJobUntilReplay(_ backend: Backend) async throws {
        let receiver = ScriptedReceiver()
        await receiver.script([410])
        try await withReceiver(receiver, job: Self.job().replacingOccurrences(of: "delivery: {", with: "delivery: { concurrency: 1,"), backend: backend) { harness, _ in
            try sql(harness, "INSERT INTO requests (id, status) VALUES ('g1', 'approved'), ('g2', 'approved')")
            let summary = await harness.runner.push(try harness.job("push"))
            #expect(summary.disabled?.contains("410 Gone") == true)
            #expect(summary.exitCode == 1)
            // The ledger says why it failed after one attempt (it said "attempts exhausted").
            let reasons = try harness.rows("SELECT reason FROM _sheetsync_deliveries WHERE state = 'failed'").map { $0["reason"] as String }
            #expect(reasons == ["410 Gone: the job is disabled until 'sheetsync replay --failed'"], "\(reasons)")
            let blocked = await harness.runner.push(try harness.job("push"))
            #expect(blocked.disabled != nil)
            #expect(await receiver.received.count == 1)
            _ = try harness.database.replay(job: "push", changeID: nil, failedOnly: true, since: nil)
            try harness.database.saveState([StateKey.disabled: nil], job: "push")
            let resumed = await harness.runner.push(try harness.job("push"))
            #expect(resumed.delivered == 2, "\(resumed.line)")
        }
    }

    /// Issue 12: `/hooks/requests/{{record.id}}` with the id `..` would post to
    /// `/hooks/requests/..`, which servers and proxies read as `/hooks`.
    @Test(arguments: Backend.allCases) func anIdOfDotDotFailsItsDeliveryAndSendsNothing(_ backend: Backend) async throws {
        let receiver = ScriptedReceiver()
        try await withReceiver(receiver, backend: backend) { harness, _ in
            try sql(harness, "INSERT INTO requests (id, title, status) VALUES ('..', 'Dots', 'approved'), ('pr-7', 'Desks', 'approved')")
            let summary = await harness.runner.push(try harness.job("push"))
            #expect(summary.failed == 1, "\(summary.line)")
            #expect(summary.delivered == 1)
            #expect(await receiver.received.map(\.path) == ["/hooks/requests/pr-7"])
            let failed = try harness.rows("SELECT record_key, last_error FROM _sheetsync_deliveries WHERE state = 'failed'")
            try #require(failed.count == 1)
            #expect(failed[0]["record_key"] as String == #"[".."]"#)
            #expect(failed[0]["last_error"] as String == "the value of '{{record.id}}' is '..', which would make a whole path segment '..' and address another resource; refusing to send it")
        }
    }
}

/// Issue 14, item 1: an absurd `Retry-After` from a receiver is clamped, counted as an
/// attempt and scheduled; it used to crash `push` and `serve` before the attempt was
/// recorded, so every restart sent again and crashed again.
struct AbsurdRetryAfterTests {
    static func router(_ receiver: ScriptedReceiver) -> Router<BasicRequestContext> {
        let router = Router()
        router.post("/**") { request, _ -> Response in
            _ = await receiver.take(.init(path: request.uri.path, headers: [:], body: "", at: .now))
            return Response(status: .serviceUnavailable, headers: [.retryAfter: "99999999999999999"], body: .init(byteBuffer: ByteBuffer(string: "{}")))
        }
        return router
    }

    @Test func anAbsurdRetryAfterIsClampedAndTheAttemptCounted() async throws {
        let receiver = ScriptedReceiver()
        try await withLoopbackServer(Self.router(receiver)) { server in
            let harness = try Harness(files: ["schema/requests.yml": PushTests.schema, "jobs/push.yml": PushTests.job(),
                                              "sheetsync.yml": "env: { ERP: '\(server.baseURL)' }\n"],
                                      environment: ["SIGNING": "whsec_" + Data("test-secret".utf8).base64EncodedString()])
            try harness.database.migrate(harness.project.worksheets, captured: harness.project.capturedWorksheets, pushJobs: harness.project.pushJobWorksheets)
            try await DatabaseQueue(path: harness.project.databaseURL().path).write { try $0.execute(sql: "INSERT INTO requests (id, status) VALUES ('r', 'approved')") }
            let summary = await harness.runner.push(try harness.job("push"))
            #expect(summary.pending == 1, "\(summary.line)")
            #expect(summary.error == nil)
            let row = try harness.rows("SELECT state, attempts, next_attempt_at, last_status FROM _sheetsync_deliveries")[0]
            #expect(row["state"] as String == "pending")
            #expect(row["attempts"] as Int == 1)
            #expect(row["last_status"] as Int == 503)
            // Scheduled within a year, not at an overflowed date.
            let next = try #require(UTCDateTime(iso: row["next_attempt_at"] as String))
            let now = Int64(Date().timeIntervalSince1970)
            #expect(next.seconds > now + 360 * 86_400 && next.seconds <= now + 367 * 86_400, "\(row["next_attempt_at"] as String)")
            // Nothing is due, so a second pass sends nothing.
            _ = await harness.runner.push(try harness.job("push"))
            #expect(await receiver.received.count == 1)
            await harness.shutdown()
        }
    }
}
