import Foundation
import GRDB
import SheetSyncTesting
import Testing
import SheetSyncCore
import SheetSyncDemo
@testable import SheetSyncRunner
import SheetSyncStore

/// Responses a server should not send, through the whole pull path: each ends in a
/// clear error (or a recorded reject), nothing of the page is committed, no crash,
/// and the next run with a sane response is healthy.
struct HostileResponseTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var body: @Sendable () -> String
        /// The run's error code, or nil when the run must succeed (possibly partial).
        var errorCode: String?
        /// Words the error message must contain.
        var message: String = ""
        var testDescription: String { name }
    }

    static let sane = #"{"data": [{"id": "ok1", "status": "new", "total": "1.00"}]}"#

    static let cases: [Case] = [
        Case(name: "malformed JSON", body: { #"{"data": [{"id": "o1"}, {"id": "o2""# }, errorCode: "invalid_json", message: "not valid JSON"),
        Case(name: "an HTML error page with status 200", body: { "<html><body><h1>502 Bad Gateway</h1></body></html>" },
             errorCode: "invalid_json", message: "not valid JSON"),
        Case(name: "an empty body", body: { "" }, errorCode: "invalid_json", message: "unexpected end of input"),
        Case(name: "200 with an error object", body: { #"{"error": {"code": "quota", "message": "daily limit reached"}}"# },
             errorCode: "unexpected_response", message: "'error'"),
        Case(name: "100,000 levels of nesting inside a record",
             body: { #"{"data": [{"id": "o1", "x": "# + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000) + "}]}" },
             errorCode: "invalid_json", message: "nesting deeper than"),
        Case(name: "100,000 levels of nesting outside the records",
             body: { #"{"meta": "# + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000) + #", "data": []}"# },
             errorCode: "invalid_json", message: "nesting deeper than"),
        Case(name: "a lone surrogate escape", body: { #"{"data": [{"id": "o1", "status": "\ud800"}]}"# }, errorCode: "invalid_json", message: "surrogate"),
        Case(name: "the records member twice", body: { #"{"data": [{"id": "o1"}], "data": [{"id": "o2"}]}"# },
             errorCode: "invalid_json", message: "two arrays"),
    ]

    @Test(arguments: cases)
    func endsCleanlyAndTheNextRunIsHealthy(_ hostile: Case) async throws {
        let script = ScriptedResponses()
        try await withScriptedHarness(script, job: PullRunTests.ordersJob) { harness, _ in
            let job = try harness.job("orders")
            await script.set(body: Self.sane)
            #expect(await harness.runner.run(job).status == .succeeded)

            await script.set(body: hostile.body())
            let summary = await harness.runner.run(job)
            if let code = hostile.errorCode {
                #expect(summary.status == .failed, "\(summary.line)")
                #expect(summary.errorCode == code, "\(summary.line)")
                #expect(summary.errorMessage?.contains(hostile.message) == true, "\(summary.errorMessage ?? "")")
                // Nothing of the page was written.
                #expect(try harness.count("orders") == 1)
            }
            let recorded = try harness.rows("SELECT status, error_code FROM _sheetsync_runs ORDER BY id DESC LIMIT 1")[0]
            #expect(recorded["status"] as String == summary.status.rawValue)
            #expect(recorded["error_code"] as String? == summary.errorCode)

            await script.set(body: Self.sane.replacingOccurrences(of: "ok1", with: "ok2"))
            let next = await harness.runner.run(job)
            #expect(next.status == .succeeded, "\(next.line)")
            #expect(try harness.count("orders") >= 2)
        }
    }

    @Test(arguments: Backend.allCases) func valuesAtTheEdgesLandExactlyOrAreRejectedWithAReason(_ backend: Backend) async throws {
        let script = ScriptedResponses()
        try await withScriptedHarness(script, job: PullRunTests.ordersJob, backend: backend) { harness, _ in
            let big = String(repeating: "x", count: 10 * 1024 * 1024)
            let hostileValue = "'); DROP TABLE orders; --"
            await script.set(body: """
                {"data": [
                  {"id": "big", "status": "\(big)", "total": "1"},
                  {"id": "wide", "status": "new", "total": 123456789012345678901234567890.123456789},
                  {"id": "dup", "status": "first", "status": "last", "total": "2"},
                  {"id": "\(hostileValue)", "status": "\(hostileValue)", "total": "3"},
                  {"id": "bad", "status": "new", "total": 1e99999},
                  {"id": "obj", "status": {"not": "text"}, "total": "4"}
                ]}
                """)
            let summary = await harness.runner.run(try harness.job("orders"))
            #expect(summary.status == .partial, "\(summary.line)")
            let rows = Dictionary(uniqueKeysWithValues: try harness.rows("SELECT id, status, total FROM orders").map { ($0["id"] as String, $0) })
            #expect((rows["big"]?["status"] as String?)?.utf8.count == big.utf8.count)
            #expect(rows["wide"]?["total"] as String? == "123456789012345678901234567890.123456789")
            #expect(rows["dup"]?["status"] as String? == "last")
            #expect(rows[hostileValue]?["status"] as String? == hostileValue)
            let reasons = try harness.rows("SELECT reason FROM _sheetsync_rejects ORDER BY id").map { $0["reason"] as String }
            #expect(reasons.count == 2, "\(reasons)")
            #expect(reasons.contains { $0.contains("field 'status'") && $0.contains("object") })
            #expect(try harness.count("orders") == 4)
        }
    }
}

/// What a framework-based test server cannot do: cut a body, stall after the headers,
/// never answer, send bytes that are not UTF-8 or are compressed without being asked.
@Suite(.serialized) struct MisbehavingServerTests {
    static func gzipOfZeros(megabytes: Int) throws -> [UInt8] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["sh", "-c", "head -c \(megabytes * 1_048_576) /dev/zero | gzip -c"]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Array(data)
    }

    static let sane = Array(#"{"data": [{"id": "ok", "status": "new", "total": "1.00"}]}"#.utf8)

    /// Runs the orders job against `path` on `server`, then `check` with its summary and
    /// harness; the harness is shut down when `check` returns or throws.
    func run(_ path: String, server: RawHTTPServer, backend: Backend = .sqlite, _ check: (RunSummary, Harness) async throws -> Void) async throws {
        var files = DemoProject.files.filter { $0.key.hasPrefix("schema/") }
        files["sheetsync.yml"] = "env: { API: '\(server.baseURL)\(path)' }\n"
        files["jobs/orders.yml"] = PullRunTests.ordersJob.replacingOccurrences(of: "  retry: { attempts: 1 }", with: "  retry: { attempts: 1 }\n  timeout: 1s")
        try await withHarness(files: files, environment: ["API_TOKEN": "canary-T0KEN-9f2"], backend: backend) { harness in
            try await check(await harness.runner.run(try harness.job("orders")), harness)
        }
    }

    @Test(arguments: Backend.allCases) func eachMisbehaviourEndsInAClearErrorAndCommitsNothing(_ backend: Backend) async throws {
        let invalidUTF8 = Array(#"{"data": [{"id": "o1", "status": ""#.utf8) + [0xC3, 0x28] + Array(#""}]}"#.utf8)
        let bomb = try Self.gzipOfZeros(megabytes: 64)
        try await withRawHTTPServer([
            "/cut/orders": .init(bytes: Array("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n{\"data\": [{\"id\": \"o1\"},".utf8)),
            "/stall/orders": .init(bytes: Array("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n".utf8), hold: true),
            "/silent/orders": .init(bytes: [], hold: true),
            "/utf8/orders": .init(bytes: RawHTTPServer.response(body: invalidUTF8)),
            "/html/orders": .init(bytes: RawHTTPServer.response(headers: ["Content-Type: text/html"], body: Array("<html><body>Service Unavailable</body></html>".utf8))),
            "/gzip/orders": .init(bytes: RawHTTPServer.response(headers: ["Content-Type: application/json", "Content-Encoding: gzip"], body: bomb)),
            "/plain/orders": .init(bytes: RawHTTPServer.response(headers: ["Content-Type: text/plain"], body: Self.sane)),
            "/none/orders": .init(bytes: RawHTTPServer.response(headers: [], body: Self.sane)),
        ]) { server in
            let expected: [(path: String, code: String, words: String)] = [
                ("/cut", "connection", "body was cut short"),
                ("/stall", "timeout", "within 1s"),
                ("/silent", "timeout", "within 1s"),
                ("/utf8", "invalid_json", "invalid UTF-8"),
                ("/html", "invalid_json", "Content-Type: text/html"),
                ("/gzip", "invalid_json", "Content-Encoding: gzip"),
            ]
            for (path, code, words) in expected {
                try await run(path, server: server, backend: backend) { summary, harness throws in
                    #expect(summary.status == .failed, "\(path): \(summary.line)")
                    #expect(summary.errorCode == code, "\(path): \(summary.line)")
                    #expect(summary.errorMessage?.contains(words) == true, "\(path): \(summary.errorMessage ?? "")")
                    #expect(try harness.count("orders") == 0, "\(path) committed rows")
                }
            }
            // A JSON body labelled text/plain, or not labelled at all, is read: many APIs mislabel.
            for path in ["/plain", "/none"] {
                try await run(path, server: server, backend: backend) { summary, harness throws in
                    #expect(summary.status == .succeeded, "\(path): \(summary.line)")
                    #expect(try harness.count("orders") == 1)
                }
            }
        }
    }
}
