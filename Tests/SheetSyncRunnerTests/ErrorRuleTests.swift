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

/// Issue 16, item 6, for push jobs: a receiver that answers 200 with an error in the body
/// has not taken the change; `request.error.when` makes that a failed attempt, retried and
/// finally failed like any other.
struct ErrorRuleTests {
    actor Answers {
        var bodies: [String]
        var count = 0
        init(_ bodies: [String]) { self.bodies = bodies }
        func next() -> String {
            count += 1
            return bodies.count > 1 ? bodies.removeFirst() : bodies[0]
        }
    }

    func withReceiver<Value>(_ answers: Answers, _ body: @escaping (LoopbackServer) async throws -> Value) async throws -> Value {
        let router = Router()
        router.post("/**") { _, _ -> Response in
            Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: await answers.next())))
        }
        return try await withLoopbackServer(router, body)
    }

    func job(_ server: LoopbackServer) -> [String: String] {
        ["schema/notes.yml": "key: [id]\nfields:\n  id: text\n  note: text\n",
         "jobs/to-crm.yml": """
            kind: push
            worksheet: notes
            request:
              url: "\(server.baseURL)/hooks"
              error: { when: "$.ok == false", code: $.code, message: $.error }
            delivery: { attempts: 2, backoff: [0s] }
            """]
    }

    @Test func aReceiverReportingAnErrorIn200HasNotTakenTheChange() async throws {
        let answers = Answers([#"{"ok": false, "code": "quota", "error": "daily quota used up"}"#])
        try await withReceiver(answers) { server in
            try await withHarness(files: job(server), environment: [:]) { harness in
                try harness.database.migrate(harness.project.worksheets, captured: harness.project.capturedWorksheets, pushJobs: harness.project.pushJobWorksheets)
                try await DatabaseQueue(path: harness.project.databaseURL().path).write { try $0.execute(sql: "INSERT INTO notes (id, note) VALUES ('n1', 'hello')") }
                let summary = await harness.runner.push(try harness.job("to-crm"), wait: .seconds(20))
                #expect(summary.delivered == 0 && summary.failed == 1, "\(summary.line)")
                #expect(await answers.count == 2)
                let ledger = try harness.rows("SELECT state, attempts, last_error FROM _sheetsync_deliveries")
                #expect(ledger.map { $0["state"] as String } == ["failed"])
                #expect(ledger.first.map { ($0["last_error"] as String).contains("[quota] daily quota used up") } == true, "\(ledger)")
            }
        }
    }

    @Test func aReceiverAnsweringOkDeliversAsBefore() async throws {
        let answers = Answers([#"{"ok": false, "code": "busy", "error": "try again"}"#, #"{"ok": true}"#])
        try await withReceiver(answers) { server in
            try await withHarness(files: job(server), environment: [:]) { harness in
                try harness.database.migrate(harness.project.worksheets, captured: harness.project.capturedWorksheets, pushJobs: harness.project.pushJobWorksheets)
                try await DatabaseQueue(path: harness.project.databaseURL().path).write { try $0.execute(sql: "INSERT INTO notes (id, note) VALUES ('n1', 'hello')") }
                let summary = await harness.runner.push(try harness.job("to-crm"), wait: .seconds(20))
                #expect(summary.delivered == 1 && summary.failed == 0, "\(summary.line)")
                #expect(try harness.rows("SELECT attempts FROM _sheetsync_deliveries").map { $0["attempts"] as Int } == [2])
            }
        }
    }
}
