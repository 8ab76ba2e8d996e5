import Foundation
import Hummingbird
import NIOCore
import Testing
import SheetSyncCore
import SheetSyncDaemon
import SheetSyncFiles
import SheetSyncStore
import SheetSyncTesting

/// A webhook receiver that takes each request and answers it only when released (or after
/// 30 s): an endpoint that hangs. Counts the requests it holds.
actor HangingReceiver {
    private(set) var started = 0
    private(set) var finished = 0
    private(set) var isReleased = false

    var inFlight: Int { started - finished }

    func enter() { started += 1 }
    func leave() { finished += 1 }
    /// Lets every held request answer (call before stopping the server).
    func release() { isReleased = true }

    static func router(_ receiver: HangingReceiver) -> Router<BasicRequestContext> {
        let router = Router()
        router.post("/**") { request, _ -> Response in
            _ = try await request.body.collect(upTo: 1 << 20)
            await receiver.enter()
            let deadline = ContinuousClock.now + .seconds(30)
            do {
                while await !receiver.isReleased, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
            } catch {
                await receiver.leave()
                throw error
            }
            await receiver.leave()
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: "{}")))
        }
        return router
    }
}

/// A webhook receiver that answers 200 at once and keeps the paths it received.
actor RecordingReceiver {
    private(set) var paths: [String] = []

    func take(_ path: String) { paths.append(path) }

    static func router(_ receiver: RecordingReceiver) -> Router<BasicRequestContext> {
        let router = Router()
        router.post("/**") { request, _ -> Response in
            _ = try await request.body.collect(upTo: 1 << 20)
            await receiver.take(request.uri.path)
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: "{}")))
        }
        return router
    }
}

/// Push jobs in the daemon deliver independently: an endpoint that hangs holds up only
/// its own job (issue 14, item 6).
struct PushIsolationTests {
    static let schema = "worksheet: items\nkey: [id]\nfields:\n  id: text\n  name: text\n"

    /// A push job of `items` to `{{env.<variable>}}`; the hanging one waits 30 s for an
    /// answer, longer than the test takes, so its request is still open when the other
    /// job's change must already be delivered.
    static func job(_ variable: String, timeout: String, path: String = "hooks") -> String {
        """
        kind: push
        worksheet: items
        on: [insert, update, delete]
        request:
          url: "{{env.\(variable)}}/\(path)/items/{{record.id}}"
          timeout: \(timeout)
        """
    }

    /// Runs a daemon in this process on a fresh project with `jobs` (file name → text),
    /// hands it to `body`, shuts it down, then hands the database and how long the
    /// shutdown took to `stopped`.
    func withDaemon(env: String, jobs: [String: String],
                    _ body: (DaemonSession, WorksheetDatabase, URL) async throws -> Void,
                    stopped: (WorksheetDatabase, Duration) async throws -> Void = { _, _ in }) async throws {
        var files = ["sheetsync.yml": "env: { \(env) }\n", "schema/items.yml": Self.schema]
        for (name, text) in jobs { files["jobs/\(name)"] = text }
        let directory = try temporaryDirectory(prefix: "sheetsync-push-isolation", files: files)
        defer { try? FileManager.default.removeItem(at: directory) }
        let project = ProjectLoader.load(directory: directory, environment: [:])
        #expect(project.errors.map(\.description) == [])
        let path = project.databaseURL().path
        let database = try WorksheetDatabase(path: path)
        let configuration = DaemonConfiguration(projectDirectory: directory, databasePath: path, endpoint: nil, grace: .seconds(5),
                                                handlesSignals: false, reloadInterval: .milliseconds(200))
        let session = try await DaemonSession(project: project, database: database, configuration: configuration, logger: LogCapture().logger())
        let running = Task { try await session.run() }
        do {
            try await body(session, database, directory)
        } catch {
            await session.shutdown()
            _ = await running.result
            throw error
        }
        let stopping = ContinuousClock.now
        await session.shutdown()
        try await running.value
        try await stopped(database, ContinuousClock.now - stopping)
    }

    func insert(_ id: String, into database: WorksheetDatabase) throws {
        _ = try WorksheetDatabase.query(path: database.path, sql: "INSERT INTO items (id, name) VALUES ('\(id)', 'Item \(id)')", allowWrite: true)
    }

    /// Polls `condition` every 20 ms until it holds or `limit` has passed; returns whether it held.
    func eventually(within limit: Duration, _ condition: () async throws -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(20))
        }
        return try await condition()
    }

    @Test func aHangingEndpointDoesNotDelayAnotherPushJob() async throws {
        let slow = HangingReceiver()
        let fast = RecordingReceiver()
        try await withLoopbackServer(HangingReceiver.router(slow)) { slowServer in
            try await withLoopbackServer(RecordingReceiver.router(fast)) { fastServer in
                do {
                    // 'a-slow' sorts first: the daemon used to push the jobs one after the other.
                    try await withDaemon(env: "SLOW: '\(slowServer.baseURL)', FAST: '\(fastServer.baseURL)'",
                                         jobs: ["a-slow.yml": Self.job("SLOW", timeout: "30s"),
                                                "b-fast.yml": Self.job("FAST", timeout: "5s")]) { _, database, _ in
                        let inserted = ContinuousClock.now
                        try insert("x1", into: database)
                        // The healthy job's change is delivered (receiver and ledger) while the
                        // other job's request is still open. Before the fix it waited for that
                        // request's 30 s timeout.
                        let delivered = try await eventually(within: .seconds(8)) {
                            let ledger = try database.deliveries(job: "b-fast", state: .delivered, limit: 10)
                            return await slow.started == 1 && ledger.count == 1
                        }
                        let took = ContinuousClock.now - inserted
                        #expect(delivered, "b-fast's change not delivered \(took) after the insert")
                        #expect(await fast.paths == ["/hooks/items/x1"])
                        #expect(await slow.inFlight == 1, "a-slow's request is no longer open: the test no longer shows isolation")
                        // In flight: its attempt is counted with its outcome (a crash mid-send is charged at the next pass).
                        let hanging = try #require(try database.deliveries(job: "a-slow", state: nil, limit: 10).first)
                        #expect(hanging.state == .pending && hanging.attempts == 0, "\(hanging)")

                        // The healthy job keeps its one-second cadence meanwhile.
                        try insert("x2", into: database)
                        #expect(try await eventually(within: .seconds(8)) {
                            try database.deliveries(job: "b-fast", state: .delivered, limit: 10).count == 2
                        })
                        #expect(await fast.paths == ["/hooks/items/x1", "/hooks/items/x2"])
                        #expect(await slow.inFlight == 1)
                    } stopped: { database, took in
                        // Shutdown cancels the hanging request instead of waiting out its 30 s.
                        // Being cut short is not the receiver's answer: the attempt is given back
                        // (with `attempts: 1` it would otherwise fail for good) and the delivery
                        // stays due, to go again at the next start; the request is in the log.
                        #expect(took < .seconds(10), "shutdown took \(took)")
                        let cut = try #require(try database.deliveries(job: "a-slow", state: nil, limit: 10).first)
                        #expect(cut.state == .pending && cut.attempts == 0, "\(cut)")
                        #expect(try database.runs(job: "a-slow").map(\.requests).reduce(0, +) == 1)
                    }
                } catch {
                    await slow.release()
                    throw error
                }
                await slow.release()
            }
        }
    }

    @Test func aPushJobAddedByAReloadStartsDeliveringAndARemovedOneStops() async throws {
        let receiver = RecordingReceiver()
        try await withLoopbackServer(RecordingReceiver.router(receiver)) { server in
            try await withDaemon(env: "ERP: '\(server.baseURL)'", jobs: ["old.yml": Self.job("ERP", timeout: "5s", path: "old")]) { session, database, directory in
                let daemon = session.daemon
                #expect(try await eventually(within: .seconds(8)) { await daemon.pushLoopJobs == ["old"] })

                // Added: the reloader loads it and the push loop starts its loop.
                try Self.job("ERP", timeout: "5s", path: "new").write(to: directory.appendingPathComponent("jobs/new.yml"), atomically: true, encoding: .utf8)
                #expect(try await eventually(within: .seconds(8)) { await daemon.pushLoopJobs == ["new", "old"] })
                try insert("y1", into: database)
                let both = try await eventually(within: .seconds(8)) { Set(await receiver.paths) == ["/old/items/y1", "/new/items/y1"] }
                let received = await receiver.paths
                #expect(both, "received: \(received)")

                // Removed: its loop ends, and a later change goes to the remaining job only.
                try FileManager.default.removeItem(at: directory.appendingPathComponent("jobs/old.yml"))
                #expect(try await eventually(within: .seconds(8)) { await daemon.pushLoopJobs == ["new"] })
                try insert("y2", into: database)
                #expect(try await eventually(within: .seconds(8)) {
                    try database.deliveries(job: "new", state: .delivered, limit: 10).count == 2
                })
                #expect(await receiver.paths.filter { $0.hasSuffix("/y2") } == ["/new/items/y2"])
                #expect(try database.deliveries(job: "old", state: nil, limit: 10).count == 1)
            }
        }
    }
}
