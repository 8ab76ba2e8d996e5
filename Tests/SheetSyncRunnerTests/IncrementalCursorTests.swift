import Foundation
import SheetSyncCore
@testable import SheetSyncRunner
import SheetSyncStore
import SheetSyncTesting
import Testing

/// The incremental cursor comes only from records that were written, compared in the
/// cursor field's type (issue 15, item 2): a real loopback server, the real SQLite file.
struct IncrementalCursorTests {
    static let job = """
        kind: pull
        worksheet: events
        request:
          url: "{{env.API}}/events"
          query: { updated_since: "{{state.cursor}}" }
          retry: { attempts: 1 }
        records: $.data
        fields: { id: $.id, updated_at: $.updated_at }
        incremental: { cursor: $.updated_at }
        """

    static func withAPI(backend: Backend = .sqlite, _ body: (Harness, ScriptedResponses) async throws -> Void) async throws {
        let script = ScriptedResponses()
        try await withLoopbackServer(ScriptedAPI.router(script)) { server in
            let files = [
                "sheetsync.yml": "env: { API: '\(server.baseURL)' }\n",
                "schema/events.yml": "worksheet: events\nkey: [id]\nfields:\n  id: text\n  updated_at: datetime\n",
                "jobs/events.yml": job,
            ]
            try await withHarness(files: files, environment: [:], backend: backend) { harness in try await body(harness, script) }
        }
    }

    static func savedCursor(_ harness: Harness) throws -> String? {
        try harness.rows("SELECT value FROM _sheetsync_state WHERE job = 'events' AND name = 'cursor'").first.map { $0[0] as String }
    }

    static func lastRequestURL(_ harness: Harness) throws -> String {
        try harness.rows("SELECT url FROM _sheetsync_requests ORDER BY id DESC LIMIT 1")[0]["url"]
    }

    @Test(arguments: Backend.allCases) func anUnparseableCursorValueIsRejectedAndNeverSaved(_ backend: Backend) async throws {
        try await Self.withAPI(backend: backend) { harness, script in
            let job = try harness.job("events")
            await script.set(body: #"{"data": [{"id": "a", "updated_at": "2024-01-01T00:00:00Z"}, {"id": "b", "updated_at": "garbage-date"}]}"#)
            let first = await harness.runner.run(job)
            #expect(first.status == .partial, "\(first.line)")
            #expect(try harness.count("_sheetsync_rejects") == 1)
            #expect(try Self.savedCursor(harness) == "2024-01-01T00:00:00Z")

            await script.set(body: #"{"data": [{"id": "c", "updated_at": "2999-01-01"}]}"#)
            let second = await harness.runner.run(job)
            #expect(second.status == .succeeded, "\(second.line)")
            let url = try Self.lastRequestURL(harness)
            #expect(url.hasSuffix("/events?updated_since=" + PercentEncoding.encode("2024-01-01T00:00:00Z")), "\(url)")
            #expect(try Self.savedCursor(harness) == "2999-01-01")

            await script.set(body: #"{"data": []}"#)
            _ = await harness.runner.run(job)
            let thirdURL = try Self.lastRequestURL(harness)
            #expect(thirdURL.hasSuffix("/events?updated_since=" + PercentEncoding.encode("2999-01-01")), "\(thirdURL)")
        }
    }

    @Test(arguments: Backend.allCases) func aRecordRejectedForANullKeyDoesNotMoveTheCursor(_ backend: Backend) async throws {
        try await Self.withAPI(backend: backend) { harness, script in
            let job = try harness.job("events")
            await script.set(body: #"{"data": [{"id": null, "updated_at": "2030-01-01T00:00:00Z"}, {"id": "a", "updated_at": "2024-01-01T00:00:00Z"}]}"#)
            let first = await harness.runner.run(job)
            #expect(first.status == .partial, "\(first.line)")
            #expect(try Self.savedCursor(harness) == "2024-01-01T00:00:00Z")

            await script.set(body: #"{"data": []}"#)
            _ = await harness.runner.run(job)
            let url = try Self.lastRequestURL(harness)
            #expect(url.hasSuffix("/events?updated_since=" + PercentEncoding.encode("2024-01-01T00:00:00Z")), "\(url)")
        }
    }

    @Test(arguments: Backend.allCases) func aStaleUnparseableCursorGivesWayToAWrittenRecord(_ backend: Backend) async throws {
        try await Self.withAPI(backend: backend) { harness, script in
            // A cursor an older version saved from a rejected record.
            try harness.database.saveState(["cursor": "garbage-date"], job: "events")
            await script.set(body: #"{"data": [{"id": "a", "updated_at": "2024-01-01T00:00:00+02:00"}]}"#)
            let run = await harness.runner.run(try harness.job("events"))
            #expect(run.status == .succeeded, "\(run.line)")
            #expect(try Self.savedCursor(harness) == "2024-01-01T00:00:00+02:00")
        }
    }
}
