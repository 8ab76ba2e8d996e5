import Foundation
import Testing

/// A PostgreSQL server of the test process's own (`scripts/postgres`: Debian's server
/// programs, a temporary directory, a free loopback port, password authentication),
/// started when a test first asks for it and stopped when the process exits. Each test
/// gets a database of its own.
final class TemporaryPostgres: Sendable {
    static let password = "pg-\(UUID().uuidString.prefix(8))"
    let directory: String
    let port: Int

    private static let lock = NSLock()
    nonisolated(unsafe) private static var started: TemporaryPostgres?

    private init(directory: String, port: Int) {
        self.directory = directory
        self.port = port
    }

    static var script: String { DemoAndRunTests.root.appendingPathComponent("scripts/postgres").path }

    /// The server, started on first use. Fails (does not skip) when the server programs
    /// are missing: `scripts/test` installs them.
    static func shared() throws -> TemporaryPostgres {
        lock.lock()
        defer { lock.unlock() }
        if let started { return started }
        let directory = "/tmp/sheetsync-pg-\(getpid())-\(UUID().uuidString.prefix(6))"
        let result = try CLI.run([script, "start", directory, password], executable: URL(fileURLWithPath: "/bin/bash"))
        guard result.status == 0, let port = Int(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw PostgresUnavailable(reason: "scripts/postgres start failed (\(result.status)): \(result.stderr)")
        }
        let server = TemporaryPostgres(directory: directory, port: port)
        started = server
        atexit {
            if let server = TemporaryPostgres.started {
                _ = try? CLI.run([TemporaryPostgres.script, "stop", server.directory], executable: URL(fileURLWithPath: "/bin/bash"))
            }
        }
        return server
    }

    /// A new, empty database; returns its URL as a project would write it (the password
    /// from the secret `PG_PASSWORD`, see `environment`).
    func newDatabase() throws -> String {
        let name = "t_" + UUID().uuidString.prefix(12).lowercased().replacingOccurrences(of: "-", with: "")
        let bin = try Self.serverBin()
        let result = try CLI.run(["-h", "127.0.0.1", "-p", String(port), "-U", "sheetsync", name],
                                 executable: URL(fileURLWithPath: bin + "/createdb"), environment: ["PGPASSWORD": Self.password])
        guard result.status == 0 else { throw PostgresUnavailable(reason: "createdb failed: \(result.stderr)") }
        return "postgres://sheetsync:{{secret.PG_PASSWORD}}@127.0.0.1:\(port)/\(name)?sslmode=disable"
    }

    /// What a command needs to reach the test databases.
    var environment: [String: String] { ["PG_PASSWORD": Self.password] }

    /// Runs SQL with `psql` (an independent client) and returns its unaligned output.
    /// Reads its output on the calling thread (small outputs only): readers that run
    /// beside a sync must not need a second dispatch thread each, which 2 cores do not give.
    func psql(_ url: String, _ sql: String) throws -> String {
        let plain = url.replacingOccurrences(of: "{{secret.PG_PASSWORD}}", with: Self.password)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/psql")
        process.arguments = ["-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1", "-c", sql, plain]
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let output = out.fileHandleForReading.readDataToEndOfFile()
        let errors = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw PostgresUnavailable(reason: "psql: \(String(decoding: errors, as: UTF8.self))") }
        return String(decoding: output, as: UTF8.self)
    }

    static func serverBin() throws -> String {
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []
        guard let newest = versions.compactMap(Int.init).max() else {
            throw PostgresUnavailable(reason: "no /usr/lib/postgresql/*/bin: install Debian's 'postgresql' package (scripts/test does)")
        }
        return "/usr/lib/postgresql/\(newest)/bin"
    }
}

struct PostgresUnavailable: Error, CustomStringConvertible {
    var reason: String
    var description: String { reason }
}

/// The two stores a CLI test can run against.
enum Backend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite
    case postgres

    var testDescription: String { rawValue }

    /// The environment a command needs for a fresh database of this kind: nothing for
    /// SQLite (the project's own file), `SHEETSYNC_DB` and the password's secret for PostgreSQL.
    func freshDatabase() throws -> [String: String] {
        switch self {
        case .sqlite: return [:]
        case .postgres:
            let server = try TemporaryPostgres.shared()
            return server.environment.merging(["SHEETSYNC_DB": try server.newDatabase()]) { $1 }
        }
    }
}
