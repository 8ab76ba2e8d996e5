import Foundation
import GRDB
import Testing
import SheetSyncCore
import SheetSyncDemo
@testable import SheetSyncRunner
import SheetSyncStore
import SheetSyncTesting

/// Responses too large for memory are spilled to a temporary file and streamed into
/// the database a batch of records at a time, in the page's one transaction. They
/// must land exactly as the in-memory path lands them, and fail as cleanly.
@Suite(.serialized) struct LargeResponseTests {
    /// 2,500 orders (three batches of the streaming path), each with 1–3 items, one
    /// of them unconvertible (a reject).
    static func body(status: (Int) -> String = { ["new", "paid", "shipped"][$0 % 3] }) -> String {
        let orders = (0..<2_500).map { index in
            let items = (0...(index % 3)).map { #"{"sku":"S\#($0)","qty":\#(index % 5 + $0)}"# }.joined(separator: ",")
            let total = index == 1_234 ? #""lots""# : #""\#(index).50""#
            return #"{"id":"o\#(index)","status":"\#(status(index))","total":\#(total),"items":[\#(items)]}"#
        }
        return #"{"meta":{"count":2500},"data":[\#(orders.joined(separator: ",\n"))],"has_more":false}"#
    }

    func tables(_ harness: Harness) throws -> [String] {
        try harness.rows("SELECT id, status, total FROM orders ORDER BY id").map { "\($0["id"] as String)/\($0["status"] as String)/\($0["total"] as String)" }
            + harness.rows("SELECT order_id, sku, quantity FROM order_items ORDER BY order_id, sku").map { "\($0["order_id"] as String)/\($0["sku"] as String)/\($0["quantity"] as Int)" }
            + harness.rows("SELECT reason FROM _sheetsync_rejects ORDER BY id").map { $0["reason"] as String }
    }

    func spilledFiles() throws -> [String] {
        let directory = ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        return try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasPrefix("sheetsync-body-\(getpid())-") }
    }

    @Test(arguments: Backend.allCases) func aSpilledBodyLandsExactlyLikeAnInMemoryOne(_ backend: Backend) async throws {
        let script = ScriptedResponses()
        await script.set(body: Self.body())
        var results: [[String]] = []
        var summaries: [RunSummary] = []
        for spillBytes in [64 * 1024 * 1024, 4096] {
            try await withScriptedHarness(script, job: PullRunTests.ordersJob, backend: backend, spillBytes: spillBytes) { harness, _ in
                let first = await harness.runner.run(try harness.job("orders"))
                #expect(first.status == .partial, "\(first.line)")
                // A second run with some orders changed and items dropped: updates and deletions.
                await script.set(body: Self.body(status: { $0 % 7 == 0 ? "refunded" : ["new", "paid", "shipped"][$0 % 3] }))
                let second = await harness.runner.run(try harness.job("orders"))
                summaries.append(second)
                results.append(try tables(harness))
                await script.set(body: Self.body())
            }
        }
        #expect(results[0].count > 5_000)
        #expect(results[0] == results[1])
        #expect(summaries[0].counts == summaries[1].counts)
        #expect(summaries[0].records == 2_500 && summaries[1].records == 2_500)
        #expect(try spilledFiles().isEmpty, "temporary body files were left behind")
    }

    /// Issue 15, item 6: an in-memory body above `PullRun.streamBytes` (here 2,500 orders
    /// padded to 3 MB with a field the job does not map) is written a batch at a time, like
    /// a spilled one, so a page of very many small records never holds all its rows at once
    /// (bench: one response of 1,000,000 tiny records). It must land exactly like the page
    /// read whole.
    @Test(arguments: Backend.allCases) func aLargeInMemoryBodyIsWrittenInPartsAndLandsTheSame(_ backend: Backend) async throws {
        let padding = String(repeating: "x", count: 1_200)
        let padded = Self.body().replacingOccurrences(of: #"{"id":"o"#, with: #"{"note":"\#(padding)","id":"o"#)
        #expect(padded.utf8.count > PullRun.streamBytes && Self.body().utf8.count < PullRun.streamBytes)
        var results: [[String]] = []
        var summaries: [RunSummary] = []
        for body in [Self.body(), padded] {
            let script = ScriptedResponses()
            await script.set(body: body)
            try await withScriptedHarness(script, job: PullRunTests.ordersJob, backend: backend) { harness, _ in
                let run = await harness.runner.run(try harness.job("orders"))
                #expect(run.status == .partial, "\(run.line)")
                summaries.append(run)
                results.append(try tables(harness))
            }
        }
        #expect(results[0].count > 5_000)
        #expect(results[0] == results[1])
        #expect(summaries[0].counts == summaries[1].counts)
        #expect(summaries[1].records == 2_500)
    }

    /// Broken bodies of 3,000 records (named, so the test log does not print them).
    static func brokenBody(_ kind: String) -> String {
        let records = String(repeating: "{\"id\":\"ox\",\"status\":\"new\"},", count: 3_000)
        switch kind {
        case "truncated": return "{\"data\":[{\"id\":\"o1\"}," + records + "{\"id\":"
        default: return "{\"data\":[" + records + "{\"id\":\"oy\"}],\"data\":{\"id\":\"z\"}}"
        }
    }

    @Test(arguments: [("truncated", "invalid_json"), ("records member twice", "unexpected_response")])
    func aBrokenSpilledBodyCommitsNothing(kind: String, code: String) async throws {
        let script = ScriptedResponses()
        await script.set(body: Self.brokenBody(kind))
        try await withScriptedHarness(script, job: PullRunTests.ordersJob, spillBytes: 4096) { harness, _ in
            let summary = await harness.runner.run(try harness.job("orders"))
            #expect(summary.status == .failed)
            #expect(summary.errorCode == code, "\(summary.line)")
            // The first 1,000 records were written inside the page's transaction: rolled back.
            #expect(try harness.count("orders") == 0)
            #expect(try harness.count("_sheetsync_requests") == 1)
            #expect(try spilledFiles().isEmpty)
        }
    }

    /// A spilled body the streaming path cannot take — a records path that is not a chain
    /// of members, or per-record steps that need the page's records — is read whole from
    /// its file. It used to be read from the empty in-memory buffer: "invalid JSON".
    @Test(arguments: [(records: "$.data[*]", steps: false), (records: "$.data", steps: true)])
    func aSpilledBodyThatCannotBeStreamedIsReadWhole(records: String, steps: Bool) async throws {
        let script = ScriptedResponses()
        let orders = (0..<40).map { #"{"id":"o\#($0)","status":"new","total":"\#($0).50","items":[]}"# }.joined(separator: ",")
        await script.set(body: #"{"meta":{"count":40},"data":[\#(orders)]}"#)
        var job = PullRunTests.ordersJob.replacingOccurrences(of: "records: $.data\n", with: "records: \"\(records)\"\n")
        if steps {
            job = job.replacingOccurrences(of: "status: $.status, ", with: "")
            job += """

                steps:
                  - name: count
                    per_record: true
                    request: { url: "{{env.API}}/count/{{record.id}}", retry: { attempts: 1 } }
                    fields: { status: $.meta.count }
                """
        }
        var results: [[String]] = []
        for spillBytes in [64 * 1024 * 1024, 512] {
            try await withScriptedHarness(script, job: job, spillBytes: spillBytes) { harness, _ in
                let summary = await harness.runner.run(try harness.job("orders"))
                #expect(summary.status == .succeeded, "spill at \(spillBytes): \(summary.line)")
                #expect(summary.records == 40)
                results.append(try tables(harness))
            }
        }
        #expect(results[0].count == 40)
        #expect(results[0] == results[1])
        if steps { #expect(results[0].allSatisfy { $0.contains("/40/") }, "\(results[0].prefix(3))") }
    }
}
