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
