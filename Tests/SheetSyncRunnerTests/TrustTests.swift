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

/// What a page server saw: the path and headers of every request.
actor SeenRequests {
    var all: [(port: Int, path: String, headers: [String: String])] = []
    func add(port: Int, path: String, headers: [String: String]) { all.append((port, path, headers)) }
}

/// A one-record-per-page API whose first page names a next-page URL the test chooses
/// (in the body for `next_url`, in a `Link` header for `link_header`); later pages end
/// the walk. Every request is recorded with its headers.
enum NextURLAPI {
    static func router(port: @escaping @Sendable () -> Int, seen: SeenRequests) -> Router<BasicRequestContext> {
        let router = Router()
        router.get("/**") { request, _ -> Response in
            var headers: [String: String] = [:]
            for field in request.headers { headers[field.name.canonicalName.lowercased()] = field.value }
            await seen.add(port: port(), path: request.uri.path, headers: headers)
            let next = request.uri.queryParameters.get("next")
            let id = request.uri.path == "/first" ? 1 : 2
            var body = JSONObject(["data": .array([.object(JSONObject(["id": .number(String(id))]))])])
            var fields: HTTPFields = [.contentType: "application/json"]
            if let next {
                body.members.append(.init(key: "next", value: .string(next)))
                fields[.init("Link")!] = "<\(next)>; rel=\"next\""
            }
            return Response(status: .ok, headers: fields, body: .init(byteBuffer: ByteBuffer(string: JSONValue.object(body).jsonText)))
        }
        return router
    }
}

/// Issue 12, item 2: next-page URLs are data. They may not leave the job's origin unless
/// the job allows it, never carry credentials to another origin, never leave http(s).
struct NextPageOriginTests {
    static let token = "tok-CANARY-123456"
    static let apiKey = "key-CANARY-abcdef"

    final class PortBox: @unchecked Sendable { var port = 0 }

    /// Runs `body` against a `NextURLAPI` that records its own port with each request; the
    /// server stops when `body` returns or throws.
    func withNextURLAPI<Value>(_ seen: SeenRequests, _ body: (LoopbackServer) async throws -> Value) async throws -> Value {
        let box = PortBox()
        return try await withLoopbackServer(NextURLAPI.router(port: { box.port }, seen: seen)) { server in
            box.port = server.port
            return try await body(server)
        }
    }

    /// Runs the job against `server`, then `check` with its summary and harness (shut down
    /// when `check` returns or throws).
    func run(style: String, next: String, allow: [String] = [], server: LoopbackServer,
             _ check: (RunSummary, Harness) async throws -> Void) async throws {
        let allowed = allow.isEmpty ? "" : ", allow_origins: [\(allow.map { "'\($0)'" }.joined(separator: ", "))]"
        let job = """
            kind: pull
            worksheet: items
            request:
              url: "{{env.API}}/first"
              query: { next: "\(next)" }
              headers: { Authorization: "Bearer {{secret.TOKEN}}", X-Api-Key: "{{secret.API_KEY}}", X-Plain: "visible" }
              retry: { attempts: 1 }
            paginate: { style: \(style)\(style == "next_url" ? ", next: $.next" : "")\(allowed) }
            records: $.data
            fields: { id: $.id }
            """
        try await withHarness(files: ["schema/items.yml": "key: [id]\nfields: { id: integer }\n", "jobs/j.yml": job,
                                      "sheetsync.yml": "env: { API: '\(server.baseURL)' }\n"],
                              environment: ["TOKEN": Self.token, "API_KEY": Self.apiKey]) { harness in
            try await check(await harness.runner.run(try harness.job("j")), harness)
        }
    }

    @Test(arguments: ["next_url", "link_header"])
    func aNextPageOnAnotherPortIsRefusedAndGetsNothing(style: String) async throws {
        let seen = SeenRequests()
        try await withNextURLAPI(seen) { server in
            try await withNextURLAPI(seen) { other in
                try await run(style: style, next: other.baseURL + "/second", server: server) { summary, harness throws in
                    #expect(summary.status == .failed, "\(summary.line)")
                    #expect(summary.errorMessage?.contains("paginate.allow_origins") == true, "\(summary.line)")
                    #expect(await seen.all.filter { $0.port == other.port }.isEmpty, "the job's request went to another origin")
                    // The first page is kept.
                    #expect(try harness.count("items") == 1)
                }
            }
        }
    }

    @Test(arguments: ["next_url", "link_header"])
    func anAllowedOriginGetsTheRequestWithoutCredentials(style: String) async throws {
        let seen = SeenRequests()
        try await withNextURLAPI(seen) { server in
            try await withNextURLAPI(seen) { other in
                try await run(style: style, next: other.baseURL + "/second", allow: [other.baseURL], server: server) { summary, harness in
                    #expect(summary.status == .succeeded, "\(summary.line)")
                    let requests = await seen.all
                    let first = try #require(requests.first { $0.port == server.port })
                    #expect(first.headers["authorization"] == "Bearer \(Self.token)")
                    let second = try #require(requests.first { $0.port == other.port })
                    #expect(second.headers["authorization"] == nil)
                    #expect(second.headers["x-api-key"] == nil, "a secret header went to another origin")
                    #expect(second.headers["x-plain"] == "visible")
                    #expect(try harness.count("items") == 2)
                }
            }
        }
    }

    @Test(arguments: ["http+unix://%2Ftmp%2Fx.sock/containers/json", "file:///etc/passwd"])
    func aNextPageWithAnotherSchemeIsRefused(next: String) async throws {
        let seen = SeenRequests()
        try await withNextURLAPI(seen) { server in
            try await run(style: "next_url", next: next, server: server) { summary, _ in
                #expect(summary.status == .failed, "\(summary.line)")
                #expect(summary.errorMessage?.contains("only http and https") == true, "\(summary.line)")
                #expect(await seen.all.count == 1)
            }
        }
    }

    @Test func aNextPageOnTheSameOriginKeepsCredentials() async throws {
        let seen = SeenRequests()
        try await withNextURLAPI(seen) { server in
            try await run(style: "next_url", next: server.baseURL + "/second", server: server) { summary, harness in
                #expect(summary.status == .succeeded, "\(summary.line)")
                let second = try #require(await seen.all.first { $0.path == "/second" })
                #expect(second.headers["x-api-key"] == Self.apiKey)
            }
        }
    }
}

/// Issue 12, item 1: record data is never a template, at any stage of a push.
struct PushDataIsNotATemplateTests {
    static let secrets = ["ERP_TOKEN": "tok-CANARY-123456", "ERP_SIGNING": "whsec-sign-CANARY-abcdef", "PROXY_PW": "proxy-CANARY-pw"]

    /// The timeout is not what these tests are about: a loaded machine (the suites run in
    /// parallel) must not turn a slow answer of the in-process receiver into a retry.
    static func job(body: String) -> String {
        """
        kind: push
        worksheet: notes
        request:
          url: "{{env.HOOK}}/hooks/{{record.id}}"
          headers: { Authorization: "Bearer {{secret.ERP_TOKEN}}" }
          timeout: 5s
        \(body)
        delivery: { signing_secret: "{{secret.ERP_SIGNING}}", backoff: [0s, 10ms] }
        """
    }

    /// Runs `test` with `receiver` on 127.0.0.1 and a migrated harness whose push job sends
    /// `body`; the server and the harness are stopped when `test` returns or throws.
    func withReceiver(_ receiver: ScriptedReceiver, body: String,
                      _ test: (Harness, LoopbackServer) async throws -> Void) async throws {
        try await withLoopbackServer(ScriptedReceiver.router(receiver)) { server in
            try await withHarness(files: ["schema/notes.yml": "key: [id]\nfields: { id: text, note: text }\n",
                                  "jobs/notes-push.yml": Self.job(body: body),
                                  "sheetsync.yml": "env: { HOOK: '\(server.baseURL)' }\nproxy: { url: 'http://127.0.0.1:9', username: me, password: '{{secret.PROXY_PW}}' }\n"],
                          environment: Self.secrets) { harness in
                try harness.database.migrate(harness.project.worksheets, captured: harness.project.capturedWorksheets, pushJobs: harness.project.pushJobWorksheets)
                try await test(harness, server)
            }
        }
    }

    static let notes = [
        "hello {{secret.ERP_TOKEN}} and {{secret.ERP_SIGNING}}",
        "{{secret.PROXY_PW}}|{{secret.ERP_TOKEN|json}}|{{secret.ERP_TOKEN|url}}",
        "{{secret.UNSET}}",
    ]

    /// The whole record, a JSON template and a raw template; the first answer is 503, so
    /// each payload is sent again from the ledger by a retry.
    @Test(arguments: ["", #"  body: { json: { text: "{{record.note}}", id: "{{record.id}}" } }"#,
                      #"  body: { raw: "note={{record.note}}", content_type: text/plain }"#])
    func placeholdersInRowsArriveAsWritten(body: String) async throws {
        let receiver = ScriptedReceiver()
        await receiver.script([503, 503, 503])
        try await withReceiver(receiver, body: body) { harness, _ in
            try await DatabaseQueue(path: harness.project.databaseURL().path).write { db in
                for (index, note) in Self.notes.enumerated() {
                    try db.execute(sql: "INSERT INTO notes (id, note) VALUES (?, ?)", arguments: ["n\(index)", note])
                }
            }
            let summary = await harness.runner.push(try harness.job("notes-push"), wait: .seconds(20))
            #expect(summary.delivered == Self.notes.count, "\(summary.line)")
            #expect(summary.failed == 0)
            let received = await receiver.received
            #expect(received.count == Self.notes.count + 3)
            for (index, note) in Self.notes.enumerated() {
                let bodies = received.filter { $0.path == "/hooks/n\(index)" }.map(\.body)
                #expect(!bodies.isEmpty)
                var quoted = ""
                JSONValue.writeQuoted(note, to: &quoted)
                for sent in bodies {
                    #expect(body.contains("raw") ? sent == "note=" + note : sent.contains(quoted), "record n\(index) was sent as \(sent)")
                }
            }
            for request in received {
                #expect(!request.body.contains("CANARY"), "a secret was expanded from record data: \(request.body)")
                #expect(request.headers["authorization"] == "Bearer tok-CANARY-123456")
            }
            let ledger = try harness.rows("SELECT payload FROM _sheetsync_deliveries").compactMap { $0[0] as String? }
            #expect(ledger.count == Self.notes.count)
            #expect(!ledger.joined().contains("CANARY"))
        }
    }

    /// A real secret in the body template still arrives, beside look-alike data.
    @Test func aSecretFromTheTemplateIsStillSentAfterARetry() async throws {
        let receiver = ScriptedReceiver()
        await receiver.script([503])
        try await withReceiver(receiver, body: #"  body: { json: { key: "{{secret.ERP_TOKEN}}", text: "{{record.note}}" } }"#) { harness, _ in
            try await DatabaseQueue(path: harness.project.databaseURL().path).write { db in
                try db.execute(sql: "INSERT INTO notes (id, note) VALUES ('k', '{{secret.ERP_TOKEN}}')")
            }
            let summary = await harness.runner.push(try harness.job("notes-push"), wait: .seconds(20))
            #expect(summary.delivered == 1, "\(summary.line)")
            let received = await receiver.received
            #expect(received.count == 2)
            for request in received {
                #expect(request.body == #"{"key":"tok-CANARY-123456","text":"{{secret.ERP_TOKEN}}"}"#)
            }
            let stored = try harness.rows("SELECT payload, payload_seals FROM _sheetsync_deliveries")[0]
            #expect(stored["payload"] as String == #"{"key":"{{secret.ERP_TOKEN|json}}","text":"{{secret.ERP_TOKEN}}"}"#
                    || stored["payload"] as String == #"{"key":"{{secret.ERP_TOKEN}}","text":"{{secret.ERP_TOKEN}}"}"#)
            #expect((stored["payload_seals"] as String?)?.contains("ERP_TOKEN") == true)
        }
    }

    /// A dry run lists a pending retry with the request it will really send (its frozen
    /// one); it used to render the URL from the payload's fields, fail on `{{record.id}}`
    /// and leave the delivery out of the preview.
    @Test func aDryRunShowsTheFrozenRequestOfAPendingRetry() async throws {
        let receiver = ScriptedReceiver()
        try await withReceiver(receiver, body: #"  body: { json: { text: "{{record.note}}" } }"#) { harness, server in
            let queue = try DatabaseQueue(path: harness.project.databaseURL().path)
            try await queue.write { db in try db.execute(sql: "INSERT INTO notes (id, note) VALUES ('k', 'hello')") }
            let first = await harness.runner.push(try harness.job("notes-push"))
            #expect(first.delivered == 1, "\(first.line)")
            // The same delivery waiting for a retry: its request and payload stay frozen.
            try await queue.write { db in
                try db.execute(sql: "UPDATE _sheetsync_deliveries SET state = 'pending', next_attempt_at = '2999-01-01T00:00:00.000Z'")
            }
            let dry = await harness.runner.push(try harness.job("notes-push"), dryRun: true)
            #expect(dry.previews.count == 1, "\(dry.previews.map(\.url))")
            #expect(dry.previews.first?.url == server.baseURL + "/hooks/k")
            #expect(dry.previews.first?.headers.contains { $0.name == "Authorization" && $0.value == "Bearer ***" } == true)
            #expect(dry.previews.first?.body == #"{"text":"hello"}"#)
        }
    }

    /// A pass that fails after its run began is recorded as failed, with its error (the
    /// record used to say 'succeeded': a defer ran before the catch that set the error).
    @Test func aPushPassThatFailsIsRecordedAsFailed() async throws {
        let receiver = ScriptedReceiver()
        try await withReceiver(receiver, body: "") { harness, _ in
            try await DatabaseQueue(path: harness.project.databaseURL().path).write { db in
                try db.execute(sql: "INSERT INTO notes (id, note) VALUES ('x', 'x')")
                // A 'when' that fails at run time: the column is gone.
            }
            var job = try harness.job("notes-push")
            guard case .push(var push) = job.kind else { Issue.record("not a push job"); return }
            push.when = "no_such_column = 1"
            job.kind = .push(push)
            let summary = await harness.runner.push(job)
            #expect(summary.error != nil, "\(summary.line)")
            let run = try harness.rows("SELECT status, error_message FROM _sheetsync_runs ORDER BY id DESC LIMIT 1")[0]
            #expect(run["status"] as String == "failed")
            // The message names the job and the condition (issue 14, item 5).
            let message = try #require(run["error_message"] as String?)
            #expect(message.contains("push job 'notes-push'") && message.contains("'no_such_column = 1'") && message.contains("no such column"), "\(message)")
        }
    }
}

/// Issue 12, item 1, pull side: values from a response that read like placeholders go
/// into per-record step requests and into the worksheet as data.
struct StepDataIsNotATemplateTests {
    static let token = "tok-CANARY-777"

    static func router(seen: SeenRequests) -> Router<BasicRequestContext> {
        let router = Router()
        router.get("/**") { request, _ -> Response in
            var headers: [String: String] = [:]
            for field in request.headers { headers[field.name.canonicalName.lowercased()] = field.value }
            await seen.add(port: 0, path: request.uri.path + "?" + (request.uri.query ?? ""), headers: headers)
            let body = request.uri.path == "/items"
                ? #"{"data": [{"id": 1, "note": "{{secret.TOKEN}}"}, {"id": 2, "note": "{{env.HOME}} {{secret.UNSET}}"}]}"#
                : #"{"detail": "{{secret.TOKEN}}"}"#
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: body)))
        }
        return router
    }

    @Test func placeholdersFromAResponseStayData() async throws {
        let seen = SeenRequests()
        try await withLoopbackServer(Self.router(seen: seen)) { server in
            let job = """
                kind: pull
                worksheet: items
                steps:
                  - name: detail
                    per_record: true
                    request:
                      url: "{{env.API}}/detail/{{record.id}}"
                      query: { note: "{{record.note}}" }
                      headers: { Authorization: "Bearer {{secret.TOKEN}}", X-Note: "{{record.note}}" }
                    fields: { detail: $.detail }
                request:
                  url: "{{env.API}}/items"
                  headers: { Authorization: "Bearer {{secret.TOKEN}}" }
                records: $.data
                fields: { id: $.id, note: $.note }
                """
            try await withHarness(files: ["schema/items.yml": "key: [id]\nfields: { id: integer, note: text, detail: text }\n", "jobs/j.yml": job,
                                          "sheetsync.yml": "env: { API: '\(server.baseURL)' }\n"], environment: ["TOKEN": Self.token]) { harness in
                let summary = await harness.runner.run(try harness.job("j"))
                #expect(summary.status == .succeeded, "\(summary.line)")
                let details = await seen.all.filter { $0.path.hasPrefix("/detail/") }
                #expect(details.count == 2)
                for request in details {
                    #expect(!request.path.contains("CANARY"), "\(request.path)")
                    #expect(request.headers["x-note"]?.contains("CANARY") == false)
                    #expect(request.headers["authorization"] == "Bearer \(Self.token)")
                }
                #expect(details.contains { $0.path == "/detail/1?note=%7B%7Bsecret.TOKEN%7D%7D" }, "\(details.map(\.path))")
                #expect(details.contains { $0.headers["x-note"] == "{{secret.TOKEN}}" })
                let rows = try harness.rows("SELECT note, detail FROM items ORDER BY id")
                #expect(rows.map { $0["note"] as String } == ["{{secret.TOKEN}}", "{{env.HOME}} {{secret.UNSET}}"])
                #expect(rows.map { $0["detail"] as String } == ["{{secret.TOKEN}}", "{{secret.TOKEN}}"])
            }
        }
    }
}
