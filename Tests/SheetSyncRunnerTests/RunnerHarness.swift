import Foundation
import GRDB
import Hummingbird
import NIOCore
import SheetSyncCore
import SheetSyncDemo
import SheetSyncFiles
import SheetSyncHTTP
@testable import SheetSyncRunner
import SheetSyncStore
import SheetSyncTesting

/// An API whose next answer the test decides: status and JSON body.
actor ScriptedResponses {
    var status = 200
    var body = "{}"
    var requests: [(path: String, authorization: String?)] = []

    func set(status: Int = 200, body: String) {
        self.status = status
        self.body = body
    }

    func next(path: String, authorization: String?) -> (Int, String) {
        requests.append((path, authorization))
        return (status, body)
    }
}

/// Serves `ScriptedResponses` at every path.
enum ScriptedAPI {
    static func router(_ script: ScriptedResponses) -> Router<BasicRequestContext> {
        let router = Router()
        router.get("/**") { request, _ -> Response in
            let (status, body) = await script.next(path: request.uri.path, authorization: request.headers[.authorization])
            return Response(status: .init(code: status), headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: body)))
        }
        return router
    }
}

/// A project on disk, its database, and a runner, for one test.
final class Harness {
    let directory: URL
    let project: Project
    let database: WorksheetDatabase
    let transport: HTTPTransport
    let logs = LogCapture()
    var runner: JobRunner { JobRunner(project: project, database: database, transport: transport, logger: logs.logger()) }

    /// - Parameter spillBytes: bodies larger than this go to a temporary file (small values
    ///   exercise the streaming path).
    init(files: [String: String], environment: [String: String], spillBytes: Int = HTTPTransport.defaultSpillBytes) throws {
        directory = try temporaryDirectory(prefix: "sheetsync-runner", files: files)
        project = ProjectLoader.load(directory: directory, environment: environment)
        if project.hasErrors { throw DemoError(project.errors.map(\.description).joined(separator: "\n")) }
        database = try WorksheetDatabase(path: project.databaseURL().path)
        // Last: a transport must be shut down, and a throwing init never gets to that.
        transport = HTTPTransport(spillBytes: spillBytes, sleep: { _ in })
    }

    func shutdown() async {
        await transport.shutdown()
        try? FileManager.default.removeItem(at: directory)
    }

    func job(_ name: String) throws -> JobDefinition {
        guard let job = project.job(named: name) else { throw DemoError("no job \(name)") }
        return job
    }

    func rows(_ sql: String) throws -> [Row] {
        try DatabaseQueue(path: project.databaseURL().path).read { try Row.fetchAll($0, sql: sql) }
    }

    func count(_ table: String) throws -> Int {
        try rows("SELECT count(*) FROM \(table)")[0][0]
    }
}

/// Runs `body` with a harness and shuts it down (its HTTP client, its directory) when
/// `body` returns or throws: an HTTP client released without a shutdown traps.
func withHarness<Value>(files: [String: String], environment: [String: String], spillBytes: Int = HTTPTransport.defaultSpillBytes,
                        _ body: (Harness) async throws -> Value) async throws -> Value {
    let harness = try Harness(files: files, environment: environment, spillBytes: spillBytes)
    do {
        let value = try await body(harness)
        await harness.shutdown()
        return value
    } catch {
        await harness.shutdown()
        throw error
    }
}

/// Runs `body` with the scripted API on 127.0.0.1 and a harness whose job `orders` is
/// `job` (the demo schemas, `{{env.API}}` the server); both are stopped when `body`
/// returns or throws.
func withScriptedHarness<Value>(_ script: ScriptedResponses, job: String, spillBytes: Int = HTTPTransport.defaultSpillBytes,
                                _ body: (Harness, LoopbackServer) async throws -> Value) async throws -> Value {
    try await withLoopbackServer(ScriptedAPI.router(script)) { server in
        var files = DemoProject.files.filter { $0.key.hasPrefix("schema/") }
        files["sheetsync.yml"] = "env: { API: '\(server.baseURL)' }\n"
        files["jobs/orders.yml"] = job
        return try await withHarness(files: files, environment: ["API_TOKEN": "canary-T0KEN-9f2"], spillBytes: spillBytes) { harness in
            try await body(harness, server)
        }
    }
}
