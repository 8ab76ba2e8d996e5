import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import NIOCore
import Testing
import SheetSyncCore
import SheetSyncDaemon
import SheetSyncFiles
import SheetSyncStore
import SheetSyncTesting

/// The daemon in this process: a real project and database, its endpoints on a
/// loopback port, stopped through its service group as SIGTERM would.
struct DaemonSessionTests {
    static let schema = "worksheet: items\nkey: [id]\nfields:\n  id: text\n  name: text\n"
    static let job = """
        kind: pull
        worksheet: items
        schedule: "@every 1s"
        request:
          url: "{{env.API}}/items"
          retry: { attempts: 1 }
        records: $.data
        fields: { id: $.id, name: $.name }
        """

    /// An API with two items.
    static func api() -> Router<BasicRequestContext> {
        let router = Router()
        router.get("/items") { _, _ -> Response in
            Response(status: .ok, headers: [.contentType: "application/json"],
                     body: .init(byteBuffer: ByteBuffer(string: #"{"data": [{"id": "a", "name": "Apple"}, {"id": "b", "name": "Bread"}]}"#)))
        }
        return router
    }

    func get(_ url: String) async throws -> (status: Int, body: String) {
        let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: url), timeout: .seconds(5))
        let body = try await response.body.collect(upTo: 1 << 20)
        return (Int(response.status.code), String(buffer: body))
    }

    @Test func servesHealthAndStatusRunsTheScheduleAndStopsOnGracefulShutdown() async throws {
        try await withLoopbackServer(Self.api()) { api in
            let directory = try temporaryDirectory(prefix: "sheetsync-daemon", files: [
                "sheetsync.yml": "env: { API: '\(api.baseURL)' }\n", "schema/items.yml": Self.schema, "jobs/items.yml": Self.job,
            ])
            defer { try? FileManager.default.removeItem(at: directory) }
            let project = ProjectLoader.load(directory: directory, environment: [:])
            #expect(project.errors.map(\.description) == [])
            let path = project.databaseURL().path
            let database = try WorksheetDatabase(path: path)
            let logs = LogCapture()
            let ready = AsyncStream<String>.makeStream()
            let configuration = DaemonConfiguration(
                projectDirectory: directory, databasePath: path, endpoint: .init(host: "127.0.0.1", port: 0),
                grace: .seconds(5), handlesSignals: false)
            let session = try await DaemonSession(project: project, database: database, configuration: configuration,
                                                  logger: logs.logger()) { url in
                ready.continuation.yield(url)
                ready.continuation.finish()
            }
            let running = Task { try await session.run() }
            do {
                var urls = ready.stream.makeAsyncIterator()
                let base = try #require(await urls.next())
                #expect(base.hasPrefix("http://127.0.0.1:"))

                let health = try await get(base + "/healthz")
                #expect(health.status == 200)
                #expect(health.body == "ok\n")

                // A second daemon on the same database refuses to start.
                await #expect(throws: DaemonError.self) {
                    _ = try await DaemonSession(project: project, database: database, configuration: configuration, logger: logs.logger())
                }

                // The schedule fires within a few seconds. A slow run makes the next ticks
                // 'skipped' (overlap: skip), so the first success is looked up in the history.
                var lastRun: JSONValue?
                var succeeded = false
                for _ in 0..<200 {
                    let status = try await get(base + "/status")
                    #expect(status.status == 200)
                    let report = try JSONReader.parse(Array(status.body.utf8))
                    guard case .array(let jobs)? = report["jobs"], let first = jobs.first else { Issue.record("no jobs in \(status.body)"); break }
                    #expect(first["name"] == .string("items"))
                    #expect(first["schedule"] == .string("@every 1s"))
                    lastRun = first["last_run"]
                    succeeded = try database.runs(job: "items").contains { $0.status == "succeeded" }
                    if succeeded, case .object? = lastRun { break }
                    try await Task.sleep(for: .milliseconds(100))
                }
                #expect(succeeded, "no succeeded run; /status last_run: \(String(describing: lastRun))")
                if case .object? = lastRun {} else { Issue.record("/status shows no last run: \(String(describing: lastRun))") }
                #expect(try WorksheetDatabase.query(path: path, sql: "SELECT id, name FROM items ORDER BY id", allowWrite: false).rows.count == 2)
            } catch {
                await session.shutdown()
                _ = await running.result
                throw error
            }
            await session.shutdown()
            try await running.value
            #expect(logs.all.contains { $0.contains("stopped") })
            // The lock is released with the session: another daemon may now take the database.
            #expect(DatabaseLock(database: path, wait: false) != nil)
        }
    }
}
