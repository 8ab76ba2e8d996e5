import Foundation
import GRDB
import Hummingbird
import NIOCore
import Testing
import SheetSyncCore
import SheetSyncDemo
import SheetSyncFiles
@testable import SheetSyncRunner
import SheetSyncStore
import SheetSyncTesting

/// Issue 14's reproductions and what came with them: batches, bodyless methods, the
/// scope of a new job, write-back that does not queue itself, chunked intake, key changes.
struct PushDeliveryTests {
    /// Records every request, whatever its method, and answers from a script (then 200).
    actor Receiver {
        struct Received: Sendable {
            var method: String
            var path: String
            var headers: [String: String]
            var body: String
        }

        var statuses: [Int] = []
        var received: [Received] = []

        func script(_ statuses: [Int]) { self.statuses = statuses }

        func take(_ request: Received) -> Int {
            received.append(request)
            return statuses.isEmpty ? 200 : statuses.removeFirst()
        }

        static func router(_ receiver: Receiver) -> Router<BasicRequestContext> {
            let router = Router()
            for method in [HTTPRequest.Method.get, .post, .put, .patch, .delete, .head] {
                router.on("/**", method: method) { request, _ -> Response in
                    let body = try await request.body.collect(upTo: 1 << 20)
                    var headers: [String: String] = [:]
                    for field in request.headers { headers[field.name.canonicalName.lowercased()] = field.value }
                    let status = await receiver.take(Received(method: request.method.rawValue, path: request.uri.path, headers: headers, body: String(buffer: body)))
                    return Response(status: .init(code: status), headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: "{}")))
                }
            }
            return router
        }
    }

    static let schema = """
        key: [id]
        fields:
          id: text
          note: text
        """

    /// A project with the `notes` worksheet and `jobs`, its `HOOK` pointing at `server`; shut down however `body` ends.
    func withNotes<Value>(_ server: LoopbackServer, jobs: [String: String], schema: String = PushDeliveryTests.schema,
                            backend: Backend = .sqlite, _ body: (Harness) async throws -> Value) async throws -> Value {
        var files = ["schema/notes.yml": schema, "sheetsync.yml": "env: { HOOK: '\(server.baseURL)' }\n"]
        for (name, text) in jobs { files["jobs/\(name).yml"] = text }
        return try await withHarness(files: files, environment: [:], backend: backend) { harness in
            try harness.database.migrate(harness.project.worksheets, captured: harness.project.capturedWorksheets, pushJobs: harness.project.pushJobWorksheets)
            return try await body(harness)
        }
    }

    func sql(_ harness: Harness, _ statement: String) throws {
        try harness.execute(statement)
    }

    // MARK: - Batches

    @Test(arguments: Backend.allCases) func batchesAreJSONArraysUnderOneIdRetriedWhole(_ backend: Backend) async throws {
        let receiver = Receiver()
        await receiver.script([503])
        try await withLoopbackServer(Receiver.router(receiver)) { server in
            try await withNotes(server, jobs: ["batch": """
                kind: push
                worksheet: notes
                on: [insert, update, delete]
                request: { url: "{{env.HOOK}}/hooks/notes" }
                delivery: { batch_size: 2, concurrency: 1, backoff: [0s, 20ms] }
                """], backend: backend) { harness in
                try sql(harness, "INSERT INTO notes (id, note) VALUES ('a', 'one'), ('b', 'two'), ('c', 'three')")
                let summary = await harness.runner.push(try harness.job("batch"), wait: .seconds(30))
                #expect(summary.delivered == 3 && summary.failed == 0, "\(summary.line)")
                let received = await receiver.received
                // The first batch failed (503) and went again whole: same id, same bytes. The
                // second batch went next (one request in flight).
                try #require(received.count == 3, "\(received.map(\.body))")
                let pair = received.filter { $0.body == #"[{"id":"a","note":"one"},{"id":"b","note":"two"}]"# }
                try #require(pair.count == 2, "\(received.map(\.body))")
                #expect(pair[1].headers["idempotency-key"] == pair[0].headers["idempotency-key"])
                #expect(pair[0].headers["idempotency-key"]?.hasPrefix("bat_") == true)
                #expect(pair[0].headers["webhook-id"] == pair[0].headers["idempotency-key"])
                #expect(pair[0].headers["x-sheetsync-batch-size"] == "2")
                let single = try #require(received.first { $0.body == #"[{"id":"c","note":"three"}]"# })
                #expect(single.headers["idempotency-key"] != pair[0].headers["idempotency-key"])
                #expect(single.headers["x-sheetsync-batch-size"] == "1")
                let ledger = try harness.rows("SELECT record_key, batch_id, attempts, state FROM _sheetsync_deliveries ORDER BY id")
                #expect(ledger.map { $0["state"] as String } == ["delivered", "delivered", "delivered"])
                #expect(ledger.map { $0["attempts"] as Int } == [2, 2, 1])
                #expect(ledger[0]["batch_id"] as String? == pair[0].headers["idempotency-key"])
                #expect(ledger[1]["batch_id"] as String? == ledger[0]["batch_id"] as String?)
                // One request log row per request, numbered as the batch's attempt.
                #expect(try harness.rows("SELECT attempt FROM _sheetsync_requests ORDER BY id").map { $0["attempt"] as Int }.sorted() == [1, 1, 2])
            }
        }
    }

    @Test(arguments: Backend.allCases) func aDeleteInABatchCarriesItsMarker(_ backend: Backend) async throws {
        let receiver = Receiver()
        try await withLoopbackServer(Receiver.router(receiver)) { server in
            try await withNotes(server, jobs: ["batch": """
                kind: push
                worksheet: notes
                on: [insert, update, delete]
                request: { url: "{{env.HOOK}}/hooks/notes" }
                delivery: { batch_size: 10 }
                """], backend: backend) { harness in
                try sql(harness, "INSERT INTO notes (id, note) VALUES ('a', 'one'), ('b', 'two')")
                _ = await harness.runner.push(try harness.job("batch"))
                try sql(harness, "DELETE FROM notes WHERE id = 'a'; UPDATE notes SET note = 'TWO' WHERE id = 'b'")
                let summary = await harness.runner.push(try harness.job("batch"))
                #expect(summary.delivered == 2, "\(summary.line)")
                let bodies = await receiver.received.map(\.body)
                #expect(bodies == [#"[{"id":"a","note":"one"},{"id":"b","note":"two"}]"#, #"[{"id":"a","_deleted":true},{"id":"b","note":"TWO"}]"#])
            }
        }
    }

    // MARK: - Run records

    @Test(arguments: Backend.allCases) func aPassWithDeliveriesFailedForGoodSaysSoInItsRun(_ backend: Backend) async throws {
        let receiver = Receiver()
        await receiver.script([500])
        try await withLoopbackServer(Receiver.router(receiver)) { server in
            try await withNotes(server, jobs: ["to-erp": """
                kind: push
                worksheet: notes
                request: { url: "{{env.HOOK}}/hooks" }
                delivery: { attempts: 1 }
                """], backend: backend) { harness in
                try sql(harness, "INSERT INTO notes (id, note) VALUES ('a', 'x')")
                let summary = await harness.runner.push(try harness.job("to-erp"))
                #expect(summary.failed == 1 && summary.exitCode == 2, "\(summary.line)")
                let run = try #require(try harness.rows("SELECT status, error_code, error_message FROM _sheetsync_runs WHERE job = 'to-erp'").last)
                #expect(run["status"] as String == "partial")
                #expect(run["error_code"] as String? == "delivery_failed")
                let message = run["error_message"] as String? ?? ""
                #expect(message.hasPrefix("1 delivery failed for good; the last: delivery 1: attempts exhausted: "), "\(message)")
                #expect(message.contains("500"), "\(message)")
                #expect(message.hasSuffix("then 'sheetsync replay to-erp --failed'"), "\(message)")
            }
        }
    }

    // MARK: - Bodies

    @Test(arguments: ["DELETE", "GET"])
    func bodylessMethodsSendNoBody(method: String) async throws {
        let receiver = Receiver()
        try await withLoopbackServer(Receiver.router(receiver)) { server in
            try await withNotes(server, jobs: ["gone": """
                kind: push
                worksheet: notes
                on: [insert, delete]
                request: { method: \(method), url: "{{env.HOOK}}/hooks/notes/{{record.id}}" }
                """]) { harness in
                try sql(harness, "INSERT INTO notes (id, note) VALUES ('n-1', 'private text')")
                try sql(harness, "DELETE FROM notes WHERE id = 'n-1'; INSERT INTO notes (id, note) VALUES ('n-2', 'more')")
                let summary = await harness.runner.push(try harness.job("gone"))
                #expect(summary.delivered == 2, "\(summary.line)")
                let received = await receiver.received
                try #require(received.count == 2)
                for request in received {
                    #expect(request.method == method)
                    #expect(request.body.isEmpty, "a \(method) carried a body: \(request.body)")
                    #expect(request.headers["content-type"] == nil)
                    #expect(request.headers["content-length"].map { $0 == "0" } ?? true)
                }
                #expect(Set(received.map(\.path)) == ["/hooks/notes/n-1", "/hooks/notes/n-2"])
            }
        }
    }

    // MARK: - Scope

    @Test(arguments: Backend.allCases) func writeBackDoesNotQueueADeliveryForItsOwnJob(_ backend: Backend) async throws {
        let receiver = Receiver()
        try await withLoopbackServer(Router().post("/**") { _, _ in #"{"erp": "E-1"}"# }) { server in
            _ = receiver
            let schema = """
                key: [id]
                fields:
                  id: text
                  note: text
                  erp: text
                """
            try await withNotes(server, jobs: [
                "to-erp": """
                    kind: push
                    worksheet: notes
                    request: { url: "{{env.HOOK}}/erp" }
                    write_back: { erp: $.erp }
                    """,
                "mirror": """
                    kind: push
                    worksheet: notes
                    request: { url: "{{env.HOOK}}/mirror" }
                    """,
            ], schema: schema, backend: backend) { harness in
                try sql(harness, "INSERT INTO notes (id, note) VALUES ('a', 'x')")
                let first = await harness.runner.push(try harness.job("to-erp"))
                #expect(first.delivered == 1, "\(first.line)")
                #expect(try harness.rows("SELECT erp FROM notes")[0]["erp"] as String? == "E-1")
                let again = await harness.runner.push(try harness.job("to-erp"))
                #expect(again.delivered == 0 && again.skipped == 0, "\(again.line)")
                // The job's ledger holds its one delivery, no 'skipped' echo of its own write.
                #expect(try harness.rows("SELECT state FROM _sheetsync_deliveries WHERE job = 'to-erp'").map { $0["state"] as String } == ["delivered"])
                // Another job reading the worksheet does hear about the written-back value.
                #expect(try harness.rows("SELECT count(*) AS n FROM _sheetsync_outbox WHERE origin = 'to-erp'")[0]["n"] as Int == 1)
                let mirror = await harness.runner.push(try harness.job("mirror"))
                #expect(mirror.delivered == 1, "\(mirror.line)")
            }
        }
    }

    // MARK: - Schema changes

    @Test(arguments: Backend.allCases) func aKeyChangeNeverTurnsAPendingUpdateIntoADelete(_ backend: Backend) async throws {
        let receiver = Receiver()
        try await withLoopbackServer(Receiver.router(receiver)) { server in
            let schema = """
                key: [id]
                fields:
                  id: text
                  region: text
                  note: text
                """
            let job = """
                kind: push
                worksheet: notes
                on: [insert, update, delete]
                request: { url: "{{env.HOOK}}/hooks" }
                """
            try await withNotes(server, jobs: ["to-erp": job], schema: schema, backend: backend) { harness in
                try sql(harness, "INSERT INTO notes (id, region, note) VALUES ('a', 'eu', 'first')")
                #expect(await harness.runner.push(try harness.job("to-erp")).delivered == 1)
                try sql(harness, "UPDATE notes SET note = 'second' WHERE id = 'a'")

                // The key becomes [id, region] while the update waits: refused, naming the job.
                let changesBefore = try harness.rows("SELECT count(*) AS n FROM _sheetsync_schema_changes")[0]["n"] as Int
                try String(schema.replacingOccurrences(of: "key: [id]", with: "key: [id, region]"))
                    .write(to: harness.directory.appendingPathComponent("schema/notes.yml"), atomically: true, encoding: .utf8)
                let rekeyed = ProjectLoader.load(directory: harness.directory, environment: [:])
                #expect(!rekeyed.hasErrors, "\(rekeyed.errors)")
                let refusal = #expect(throws: StoreError.self) {
                    try harness.database.migrate(rekeyed.worksheets, allowDestructive: true, captured: rekeyed.capturedWorksheets,
                                                 pushJobs: rekeyed.pushJobWorksheets)
                }
                #expect(refusal?.code == .destructiveChange)
                #expect(refusal?.message.contains("to-erp: 1 change") == true, "\(refusal?.message ?? "")")
                #expect(refusal?.message.contains("--drop-pending") == true)
                #expect(try harness.rows("SELECT count(*) AS n FROM _sheetsync_schema_changes")[0]["n"] as Int == changesBefore)

                // Delivered first, the update goes out as an update; then the key may change.
                let update = await harness.runner.push(try harness.job("to-erp"))
                #expect(update.delivered == 1, "\(update.line)")
                try harness.database.migrate(rekeyed.worksheets, allowDestructive: true, captured: rekeyed.capturedWorksheets,
                                             pushJobs: rekeyed.pushJobWorksheets)
                let runner = JobRunner(project: rekeyed, database: harness.database, transport: harness.transport, logger: harness.logs.logger())
                try sql(harness, "UPDATE notes SET note = 'third' WHERE id = 'a'")
                let after = await runner.push(try #require(rekeyed.job(named: "to-erp")))
                #expect(after.delivered == 1, "\(after.line)")
                let bodies = await receiver.received.map(\.body)
                #expect(bodies == [#"{"id":"a","region":"eu","note":"first"}"#, #"{"id":"a","region":"eu","note":"second"}"#,
                                   #"{"id":"a","region":"eu","note":"third"}"#])
                #expect(!bodies.contains { $0.contains("_deleted") })
            }
        }
    }

    @Test(arguments: Backend.allCases) func droppingPendingChangesIsOnPurposeAndLetsTheKeyChange(_ backend: Backend) async throws {
        let receiver = Receiver()
        try await withLoopbackServer(Receiver.router(receiver)) { server in
            try await withNotes(server, jobs: ["to-erp": """
                kind: push
                worksheet: notes
                request: { url: "{{env.HOOK}}/hooks" }
                """], backend: backend) { harness in
                try sql(harness, "INSERT INTO notes (id, note) VALUES ('a', 'x'), ('b', 'y')")
                #expect(try harness.runner.dropPending(try harness.job("to-erp")) == 2)
                let ledger = try harness.database.deliveries(job: "to-erp", state: nil, limit: 10)
                #expect(ledger.map(\.state) == [.skipped, .skipped])
                #expect(ledger.allSatisfy { $0.reason?.contains("--drop-pending") == true })
                #expect(await harness.runner.push(try harness.job("to-erp")).delivered == 0)
                #expect(await receiver.received.isEmpty)
            }
        }
    }
}
