import Foundation
import GRDB
import Hummingbird
import NIOCore
import Testing
import SheetSyncCore
import SheetSyncDemo
import SheetSyncTesting
@testable import SheetSyncRunner

/// An API that wants a login first, lists 20 items, and tells each item's shipment.
actor StepsBackend {
    var version = 1
    var failing: Set<Int> = []
    var logins = 0
    var shipmentCalls = 0

    func set(version: Int, failing: Set<Int>) {
        self.version = version
        self.failing = failing
    }

    func login() -> String {
        logins += 1
        return "tok-\(logins)"
    }

    func shipment(_ id: Int) -> (Bool, Int) {
        shipmentCalls += 1
        return (!failing.contains(id), version)
    }

    static func router(_ backend: StepsBackend) -> Router<BasicRequestContext> {
        let router = Router()
        @Sendable func json(_ text: String, _ status: HTTPResponse.Status = .ok) -> Response {
            Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: text)))
        }
        router.post("/login") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 4096)
            guard String(buffer: body) == #"{"user":"demo","password":"s3cret"}"# else { return json(#"{"error": "bad login"}"#, .unauthorized) }
            return json(#"{"token": "\#(await backend.login())"}"#)
        }
        router.get("/items") { request, _ -> Response in
            guard let auth = request.headers[.authorization], auth.hasPrefix("Bearer tok-") else { return json(#"{"error": "log in first"}"#, .unauthorized) }
            let version = await backend.version
            let items = (1...20).map { #"{"id": \#($0), "name": "item-\#($0)-v\#(version)"}"# }.joined(separator: ",")
            return json(#"{"data": [\#(items)]}"#)
        }
        router.get("/shipments/:id") { _, context -> Response in
            let id = Int(context.parameters.get("id") ?? "") ?? 0
            let (ok, version) = await backend.shipment(id)
            guard ok else { return json(#"{"error": "carrier timeout"}"#, .badGateway) }
            return json(#"{"status": "shipped-v\#(version)", "carrier": "DHL"}"#)
        }
        return router
    }
}

struct StepTests {
    static let job = """
        kind: pull
        worksheet: items
        steps:
          - name: auth
            request:
              method: POST
              url: "{{env.API}}/login"
              body: { json: { user: demo, password: "{{secret.PASS}}" } }
            values: { token: $.token }
          - name: shipment
            per_record: true
            concurrency: 3
            request:
              url: "{{env.API}}/shipments/{{record.id}}"
              on_failure: continue
              retry: { attempts: 1 }
            fields: { shipment_status: $.status, carrier: $.carrier }
        request:
          url: "{{env.API}}/items"
          headers: { Authorization: "Bearer {{steps.auth.token}}" }
        records: $.data
        fields: { id: $.id, name: $.name }
        """

    static let schema = "key: [id]\nfields:\n  id: integer\n  name: text\n  shipment_status: text\n  carrier: text\n"

    @Test(arguments: Backend.allCases) func logInThenFetchThenEnrichEachRecord(_ backend: Backend) async throws {
        let backend = StepsBackend()
        try await withLoopbackServer(StepsBackend.router(backend)) { server in
            try await withHarness(files: ["schema/items.yml": Self.schema, "jobs/items.yml": Self.job,
                                          "sheetsync.yml": "env: { API: '\(server.baseURL)' }\n"], environment: ["PASS": "s3cret"]) { harness in
                let job = try harness.job("items")

                let first = await harness.runner.run(job)
                #expect(first.status == .succeeded, "\(first.line)")
                #expect(first.requests == 22)  // login, items, 20 shipments
                #expect(try harness.rows("SELECT count(*) FROM items WHERE name LIKE '%-v1' AND shipment_status = 'shipped-v1' AND carrier = 'DHL'")[0][0] as Int == 20)

                // Version 2: the names and shipments change, and 2 of the 20 shipment calls fail.
                await backend.set(version: 2, failing: [3, 7])
                let second = await harness.runner.run(job)
                #expect(second.status == .partial, "\(second.line)")
                #expect(second.exitCode == 2)
                let rows = try harness.rows("SELECT id, name, shipment_status FROM items ORDER BY id")
                for row in rows {
                    let id: Int = row["id"]
                    #expect(row["name"] as String == "item-\(id)-v2", "item \(id) did not update its other fields")
                    #expect(row["shipment_status"] as String == ([3, 7].contains(id) ? "shipped-v1" : "shipped-v2"), "item \(id)")
                }
                let failures = try harness.rows("SELECT step, record_key, error FROM _sheetsync_step_failures ORDER BY record_key")
                #expect(failures.map { $0["record_key"] as String } == ["[3]", "[7]"])
                #expect(failures.allSatisfy { ($0["error"] as String).contains("HTTP 502") && ($0["step"] as String) == "shipment" })
                #expect(second.counts.byWorksheet["items"]?.updated == 20)
                // Said once for the run with the total (it was said once per page).
                #expect(second.warnings.filter { $0.contains("per-record step call(s) failed") }
                    == ["2 per-record step call(s) failed; those records kept their old values of the step's fields (see _sheetsync_step_failures)"],
                        "\(second.warnings)")
                #expect(await backend.logins == 2)
                #expect(!(try harness.rows("SELECT * FROM _sheetsync_requests").map { "\($0)" }.joined().contains("s3cret")))
            }
        }
    }

    /// Issue 15, item 8: a setup step that failed with `on_failure: continue` left the run
    /// failing as `invalid_request` ("'{{steps.auth.token}}' has no value") while its real
    /// cause sat only in the warnings. The run's error is now the step's.
    @Test(arguments: Backend.allCases) func aFailedSetupStepIsTheRunsErrorWhenTheRequestNeedsItsValues(_ backend: Backend) async throws {
        let backend = StepsBackend()
        try await withLoopbackServer(StepsBackend.router(backend)) { server in
            let job = Self.job.replacingOccurrences(of: "    values: { token: $.token }",
                                                    with: "      on_failure: continue\n      error: { code: $.error, message: $.error }\n    values: { token: $.token }")
            try await withHarness(files: ["schema/items.yml": Self.schema, "jobs/items.yml": job,
                                          "sheetsync.yml": "env: { API: '\(server.baseURL)' }\n"], environment: ["PASS": "wrong"]) { harness in
                let summary = await harness.runner.run(try harness.job("items"))
                #expect(summary.status == .failed)
                #expect(summary.errorCode == "bad login", "\(summary.errorCode ?? "nil")")
                let message = summary.errorMessage ?? ""
                #expect(message.hasPrefix("setup step 'auth' failed, and the request uses its values ({{steps.auth.token}}): "), "\(message)")
                #expect(message.contains("401") && message.contains("bad login"), "\(message)")
                #expect(!message.contains("has no value"), "\(message)")
                let run = try #require(try harness.rows("SELECT error_code, error_message FROM _sheetsync_runs").last)
                #expect(run["error_code"] as String? == "bad login")
                #expect((run["error_message"] as String?)?.hasPrefix("setup step 'auth' failed") == true)
            }
        }
    }

    @Test(arguments: Backend.allCases) func terminateOnAPerRecordStepFailsTheRunWithoutWritingThePage(_ backend: Backend) async throws {
        let backend = StepsBackend()
        await backend.set(version: 1, failing: [5])
        try await withLoopbackServer(StepsBackend.router(backend)) { server in
            let job = Self.job.replacingOccurrences(of: "on_failure: continue", with: "on_failure: terminate")
            try await withHarness(files: ["schema/items.yml": Self.schema, "jobs/items.yml": job,
                                          "sheetsync.yml": "env: { API: '\(server.baseURL)' }\n"], environment: ["PASS": "s3cret"]) { harness in
                let summary = await harness.runner.run(try harness.job("items"))
                #expect(summary.status == .failed)
                #expect(summary.errorMessage?.contains("step 'shipment' failed for record [5]") == true)
                #expect(try harness.count("items") == 0)
            }
        }
    }
}

/// Issue 18: a per-record step without its own API-key header got 401 on every call. It
/// now sends the job request's headers (its own win), on the job's origin only, unless
/// `inherit_headers: false`.
struct InheritedHeaderTests {
    actor Seen {
        var keys: [String: [String]] = [:]
        func add(_ path: String, _ key: String?) { keys[path, default: []].append(key ?? "-") }
    }

    static func router(_ seen: Seen) -> Router<BasicRequestContext> {
        let router = Router()
        @Sendable func json(_ text: String) -> Response {
            Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: text)))
        }
        router.get("/items") { request, _ -> Response in
            await seen.add("items", request.headers.first { $0.name.canonicalName.lowercased() == "x-api-key" }?.value)
            return json(#"{"data": [{"id": 1}, {"id": 2}]}"#)
        }
        router.get("/detail/:id") { request, _ -> Response in
            await seen.add("detail", request.headers.first { $0.name.canonicalName.lowercased() == "x-api-key" }?.value)
            return json(#"{"status": "ok"}"#)
        }
        return router
    }

    static func job(stepURL: String, extra: String = "") -> String {
        """
        kind: pull
        worksheet: items
        steps:
          - name: detail
            per_record: true
            \(extra)
            request:
              url: "\(stepURL)/detail/{{record.id}}"
              headers: { Accept: application/json }
            fields: { status: $.status }
        request:
          url: "{{env.API}}/items"
          headers: { X-Api-Key: "{{secret.KEY}}", Accept: text/plain }
        records: $.data
        fields: { id: $.id }
        """
    }

    func detailKeys(_ jobText: String) async throws -> [String] {
        let seen = Seen()
        try await withLoopbackServer(Self.router(seen)) { server in
            let text = jobText.replacingOccurrences(of: "OTHER_ORIGIN", with: server.baseURL.replacingOccurrences(of: "127.0.0.1", with: "localhost"))
            try await withHarness(files: ["schema/items.yml": "key: [id]\nfields:\n  id: integer\n  status: text\n", "jobs/items.yml": text,
                                          "sheetsync.yml": "env: { API: '\(server.baseURL)' }\n"], environment: ["KEY": "k-123"]) { harness in
                let summary = await harness.runner.run(try harness.job("items"))
                #expect(summary.status == .succeeded, "\(summary.line)")
            }
        }
        let keys = await seen.keys
        #expect(keys["items"] == ["k-123"])
        return keys["detail"] ?? []
    }

    @Test(arguments: Backend.allCases) func aPerRecordStepSendsTheJobsHeadersOnItsOrigin(_ backend: Backend) async throws {
        #expect(try await detailKeys(Self.job(stepURL: "{{env.API}}")) == ["k-123", "k-123"])
        #expect(try await detailKeys(Self.job(stepURL: "{{env.API}}", extra: "inherit_headers: false")) == ["-", "-"])
        // Another origin (localhost is not 127.0.0.1): the key does not go there.
        #expect(try await detailKeys(Self.job(stepURL: "OTHER_ORIGIN")) == ["-", "-"])
    }

    @Test func theStepsOwnHeaderWinsAndOriginsAreCompared() {
        let job = HTTPRequestSpec(url: Template(literal: "https://api.example.com/items"),
                                  headers: [NamedTemplate(name: "Accept", value: Template(literal: "text/plain")),
                                            NamedTemplate(name: "X-Api-Key", value: Template(literal: "k"))])
        var step = RequestStep(name: "d", perRecord: true,
                               request: HTTPRequestSpec(url: Template(literal: "https://API.example.com/d"),
                                                        headers: [NamedTemplate(name: "accept", value: Template(literal: "application/json"))]))
        #expect(step.inheritedHeaders(from: job).map(\.name) == ["X-Api-Key"])
        step.request.url = Template(literal: "https://api.example.com:8443/d")
        #expect(step.inheritedHeaders(from: job).isEmpty)
        step.request.url = Template(literal: "https://api.example.com.evil.test/d")
        #expect(step.inheritedHeaders(from: job).isEmpty)
        #expect(RequestStep.originPart(of: "{{env.API}}/x") == "{{env.API}}")
        #expect(RequestStep.originPart(of: "{{env.API}}.evil.test/x") == nil)
        #expect(RequestStep.originPart(of: "https://{{env.HOST}}/x") == nil)
    }
}
