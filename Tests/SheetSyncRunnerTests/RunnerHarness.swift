import Foundation
import GRDB
import Hummingbird
import NIOCore
import SheetSyncCore
import SheetSyncDemo
import SheetSyncFiles
import SheetSyncHTTP
import SheetSyncPostgres
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

/// A project on disk, its database (an SQLite file, or a fresh database on the test
/// process's PostgreSQL server), and a runner, for one test.
final class Harness {
    let directory: URL
    let project: Project
    let backend: Backend
    let database: any WorksheetStore
    /// The database's URL on the test server (PostgreSQL only).
    private(set) var postgresURL: String?
    let transport: HTTPTransport
    let logs = LogCapture()
    var runner: JobRunner { JobRunner(project: project, database: database, transport: transport, logger: logs.logger()) }

    /// - Parameter spillBytes: bodies larger than this go to a temporary file (small values
    ///   exercise the streaming path).
    init(files: [String: String], environment: [String: String], backend: Backend = .sqlite,
         spillBytes: Int = HTTPTransport.defaultSpillBytes) throws {
        directory = try temporaryDirectory(prefix: "sheetsync-runner", files: files)
        project = ProjectLoader.load(directory: directory, environment: environment)
        if project.hasErrors { throw DemoError(project.errors.map(\.description).joined(separator: "\n")) }
        self.backend = backend
        switch backend {
        case .sqlite:
            database = try WorksheetDatabase(path: project.databaseURL().path)
        case .postgres:
            let server = try TemporaryPostgres.shared()
            let url = try server.newDatabase()
            postgresURL = url
            database = try PostgresStore(try PostgresLocation.parse(url), password: TemporaryPostgres.password)
        }
        // Last: a transport must be shut down, and a throwing init never gets to that.
        transport = HTTPTransport(spillBytes: spillBytes, sleep: { _ in })
    }

    func shutdown() async {
        await transport.shutdown()
        try? database.close()
        try? FileManager.default.removeItem(at: directory)
    }

    func job(_ name: String) throws -> JobDefinition {
        guard let job = project.job(named: name) else { throw DemoError("no job \(name)") }
        return job
    }

    /// The SQLite store, for the tests that are about the file (the `sqlite3` shell, GRDB).
    var sqlite: WorksheetDatabase {
        guard let file = database as? WorksheetDatabase else { fatalError("a SQLite-only test ran on \(backend)") }
        return file
    }

    /// Reads with the store's own `query` (what `sheetsync query` runs): a read-only
    /// connection to the file, a read-only transaction on the server.
    func rows(_ sql: String) throws -> [StoredRow] {
        let result = try database.query(sql: sql, allowWrite: false)
        return result.rows.map { StoredRow(columns: result.columns, values: $0) }
    }

    /// Runs `script` (statements separated by semicolons) in one transaction as another
    /// program would: GRDB on the file, `psql` on the server.
    func execute(_ script: String) throws {
        if let postgresURL {
            _ = try TemporaryPostgres.shared().psql(postgresURL, script)
        } else {
            try DatabaseQueue(path: project.databaseURL().path).write { try $0.execute(sql: script) }
        }
    }

    /// Writes as a user's own SQL does (`sheetsync query --write`): one statement.
    func write(_ sql: String) throws {
        _ = try database.query(sql: sql, allowWrite: true)
    }

    /// Whether the store has a table `name` (each store's own catalogue).
    func hasTable(_ name: String) throws -> Bool {
        let sql = switch backend {
        case .sqlite: "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '\(name)'"
        case .postgres: "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = '\(name)'"
        }
        return try rows(sql)[0][0] as Int > 0
    }

    func count(_ table: String) throws -> Int {
        try rows("SELECT count(*) FROM \(table)")[0][0]
    }
}

/// A row read back, typed at the reading site as GRDB's rows are (`row["total"] as String`),
/// from either store's values: PostgreSQL's booleans read as 0/1, its numerics as text.
struct StoredRow: Equatable, CustomStringConvertible {
    let columns: [String]
    let values: [SQLValue]

    subscript<Value: StoredValue>(_ index: Int) -> Value { Value.from(values[index]) }

    subscript<Value: StoredValue>(_ column: String) -> Value {
        guard let index = columns.firstIndex(of: column) else { return Value.from(.null) }
        return Value.from(values[index])
    }

    var description: String { "[" + zip(columns, values).map { "\($0): \($1)" }.joined(separator: ", ") + "]" }
}

protocol StoredValue {
    static func from(_ value: SQLValue) -> Self
}

extension String: StoredValue {
    static func from(_ value: SQLValue) -> String {
        switch value {
        case .null: ""
        case .integer(let number): String(number)
        case .real(let number): "\(number)"
        case .text(let text): text
        case .blob(let bytes): String(decoding: bytes, as: UTF8.self)
        }
    }
}

extension Int: StoredValue {
    static func from(_ value: SQLValue) -> Int {
        switch value {
        case .integer(let number): Int(number)
        case .real(let number): Int(number)
        case .text(let text): Int(text) ?? Int(Double(text) ?? 0)
        case .null, .blob: 0
        }
    }
}

extension Int64: StoredValue {
    static func from(_ value: SQLValue) -> Int64 { Int64(Int.from(value)) }
}

extension Double: StoredValue {
    static func from(_ value: SQLValue) -> Double {
        switch value {
        case .integer(let number): Double(number)
        case .real(let number): number
        case .text(let text): Double(text) ?? 0
        case .null, .blob: 0
        }
    }
}

extension Bool: StoredValue {
    static func from(_ value: SQLValue) -> Bool { Int.from(value) != 0 }
}

extension Optional: StoredValue where Wrapped: StoredValue {
    static func from(_ value: SQLValue) -> Wrapped? {
        if case .null = value { return nil }
        return Wrapped.from(value)
    }
}

/// Runs `body` with a harness and shuts it down (its HTTP client, its directory) when
/// `body` returns or throws: an HTTP client released without a shutdown traps.
func withHarness<Value>(files: [String: String], environment: [String: String], backend: Backend = .sqlite,
                        spillBytes: Int = HTTPTransport.defaultSpillBytes,
                        _ body: (Harness) async throws -> Value) async throws -> Value {
    // One PostgreSQL test at a time: the store's statements wait for the server on the
    // calling thread, and several such tests side by side held every thread of Swift's
    // small pool (2 on 2 cores), starving the in-process servers of the other tests
    // (push deliveries timed out). SQLite's cases go on in parallel beside it. A harness
    // inside another (one test, two projects) is already let in.
    guard backend == .postgres, !PostgresGate.inside else {
        return try await withHarnessNow(files: files, environment: environment, backend: backend, spillBytes: spillBytes, body)
    }
    await PostgresGate.shared.enter()
    do {
        let value = try await PostgresGate.$inside.withValue(true) {
            try await withHarnessNow(files: files, environment: environment, backend: backend, spillBytes: spillBytes, body)
        }
        await PostgresGate.shared.leave()
        return value
    } catch {
        await PostgresGate.shared.leave()
        throw error
    }
}

private func withHarnessNow<Value>(files: [String: String], environment: [String: String], backend: Backend, spillBytes: Int,
                                   _ body: (Harness) async throws -> Value) async throws -> Value {
    let harness = try Harness(files: files, environment: environment, backend: backend, spillBytes: spillBytes)
    do {
        let value = try await body(harness)
        await harness.shutdown()
        return value
    } catch {
        await harness.shutdown()
        throw error
    }
}

/// Lets one holder in at a time, the others wait in turn.
actor PostgresGate {
    static let shared = PostgresGate()
    /// Whether this task is let in already.
    @TaskLocal static var inside = false
    private var held = false
    private var waiting: [CheckedContinuation<Void, Never>] = []

    func enter() async {
        if !held {
            held = true
            return
        }
        await withCheckedContinuation { waiting.append($0) }
    }

    func leave() {
        if waiting.isEmpty { held = false } else { waiting.removeFirst().resume() }
    }
}

/// Runs `body` with the scripted API on 127.0.0.1 and a harness whose job `orders` is
/// `job` (the demo schemas, `{{env.API}}` the server); both are stopped when `body`
/// returns or throws.
func withScriptedHarness<Value>(_ script: ScriptedResponses, job: String, backend: Backend = .sqlite,
                                spillBytes: Int = HTTPTransport.defaultSpillBytes,
                                _ body: (Harness, LoopbackServer) async throws -> Value) async throws -> Value {
    try await withLoopbackServer(ScriptedAPI.router(script)) { server in
        var files = DemoProject.files.filter { $0.key.hasPrefix("schema/") }
        files["sheetsync.yml"] = "env: { API: '\(server.baseURL)' }\n"
        files["jobs/orders.yml"] = job
        return try await withHarness(files: files, environment: ["API_TOKEN": "canary-T0KEN-9f2"], backend: backend, spillBytes: spillBytes) { harness in
            try await body(harness, server)
        }
    }
}
