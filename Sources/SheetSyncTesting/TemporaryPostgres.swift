import Foundation

/// A PostgreSQL server of the test process's own (`scripts/postgres`: Debian's server
/// programs, a temporary directory, a free loopback port, password authentication),
/// started when a test first asks for it and stopped when the process exits. Each test
/// gets a database of its own. Used by the store-parameterised runner suites and the
/// command-line suites alike.
public final class TemporaryPostgres: Sendable {
    public static let password = "pg-\(UUID().uuidString.prefix(8))"
    public let directory: String
    public let port: Int

    private static let lock = NSLock()
    nonisolated(unsafe) private static var started: TemporaryPostgres?

    private init(directory: String, port: Int) {
        self.directory = directory
        self.port = port
    }

    /// The repository's root (this file is `Sources/SheetSyncTesting/TemporaryPostgres.swift`).
    public static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    public static var script: String { repositoryRoot.appendingPathComponent("scripts/postgres").path }

    /// The server, started on first use. Fails (does not skip) when the server programs
    /// are missing: `scripts/test` installs them.
    public static func shared() throws -> TemporaryPostgres {
        lock.lock()
        defer { lock.unlock() }
        if let started { return started }
        let directory = "/tmp/sheetsync-pg-\(getpid())-\(UUID().uuidString.prefix(6))"
        let result = try run(URL(fileURLWithPath: "/bin/bash"), [script, "start", directory, password])
        guard result.status == 0, let port = Int(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw PostgresUnavailable(reason: "scripts/postgres start failed (\(result.status)): \(result.stderr)")
        }
        let server = TemporaryPostgres(directory: directory, port: port)
        started = server
        atexit {
            if let server = TemporaryPostgres.started {
                _ = try? TemporaryPostgres.run(URL(fileURLWithPath: "/bin/bash"), [TemporaryPostgres.script, "stop", server.directory])
            }
        }
        return server
    }

    /// A new, empty database; returns its URL as a project would write it (the password
    /// from the secret `PG_PASSWORD`, see `environment`).
    public func newDatabase() throws -> String {
        let name = "t_" + UUID().uuidString.prefix(12).lowercased().replacingOccurrences(of: "-", with: "")
        let bin = try Self.serverBin()
        let result = try Self.run(URL(fileURLWithPath: bin + "/createdb"), ["-h", "127.0.0.1", "-p", String(port), "-U", "sheetsync", name],
                                  environment: ["PGPASSWORD": Self.password])
        guard result.status == 0 else { throw PostgresUnavailable(reason: "createdb failed: \(result.stderr)") }
        return "postgres://sheetsync:{{secret.PG_PASSWORD}}@127.0.0.1:\(port)/\(name)?sslmode=disable"
    }

    /// What a command needs to reach the test databases.
    public var environment: [String: String] { ["PG_PASSWORD": Self.password] }

    /// `url` with the password in place of its secret, for clients outside sheetsync.
    public func plain(_ url: String) -> String {
        url.replacingOccurrences(of: "{{secret.PG_PASSWORD}}", with: Self.password)
    }

    /// Runs SQL with `psql` (an independent client) and returns its unaligned output.
    /// Reads its output on the calling thread (small outputs only): readers that run
    /// beside a sync must not need a second dispatch thread each, which 2 cores do not give.
    public func psql(_ url: String, _ sql: String) throws -> String {
        let result = try Self.run(URL(fileURLWithPath: "/usr/bin/psql"), ["-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1", "-c", sql, plain(url)])
        guard result.status == 0 else { throw PostgresUnavailable(reason: "psql: \(result.stderr)") }
        return result.stdout
    }

    public static func serverBin() throws -> String {
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []
        guard let newest = versions.compactMap(Int.init).max() else {
            throw PostgresUnavailable(reason: "no /usr/lib/postgresql/*/bin: install Debian's 'postgresql' package (scripts/test does)")
        }
        return "/usr/lib/postgresql/\(newest)/bin"
    }

    /// Runs a program to its end; its output (small: the server's port, an error).
    public static func run(_ executable: URL, _ arguments: [String], environment: [String: String] = [:]) throws -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Errors are short and written last: read them after the output.
        let output = out.fileHandleForReading.readDataToEndOfFile()
        let errors = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: output, as: UTF8.self), String(decoding: errors, as: UTF8.self))
    }
}

public struct PostgresUnavailable: Error, CustomStringConvertible {
    public var reason: String
    public var description: String { reason }
}

/// The two stores a test can run against.
public enum Backend: String, CaseIterable, Sendable, CustomStringConvertible {
    case sqlite
    case postgres

    public var description: String { rawValue }

    /// The environment a command needs for a fresh database of this kind: nothing for
    /// SQLite (the project's own file), `SHEETSYNC_DB` and the password's secret for PostgreSQL.
    public func freshDatabase() throws -> [String: String] {
        switch self {
        case .sqlite: return [:]
        case .postgres:
            let server = try TemporaryPostgres.shared()
            return server.environment.merging(["SHEETSYNC_DB": try server.newDatabase()]) { $1 }
        }
    }
}
