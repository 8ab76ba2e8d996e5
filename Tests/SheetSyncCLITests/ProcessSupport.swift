import Foundation
import Testing

/// Child processes for the CLI tests: started, watched with deadlines, and always stopped
/// with SIGKILL (and reaped) when a test is done with them.
final class ChildProcess: @unchecked Sendable {
    let process = Process()
    private let lock = NSLock()
    private var errText = ""

    /// Starts `arguments` (the sheetsync binary unless `executable` is given); stderr is
    /// collected, stdout goes to `stdout` (default: nowhere).
    init(_ arguments: [String], executable: URL = CLI.binary, environment: [String: String] = [:],
         stdout: Any? = FileHandle.nullDevice) throws {
        process.executableURL = executable
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env["SHEETSYNC_DB"] = nil
        for (key, value) in environment { env[key] = value }
        process.environment = env
        let err = Pipe()
        err.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let data = handle.availableData
            guard let self else { return }
            self.lock.lock()
            self.errText += String(decoding: data, as: UTF8.self)
            self.lock.unlock()
        }
        process.standardError = err
        process.standardOutput = stdout
        try process.run()
    }

    var pid: pid_t { process.processIdentifier }

    /// Everything written to stderr so far.
    var stderr: String {
        lock.lock()
        defer { lock.unlock() }
        return errText
    }

    func signal(_ signal: Int32) { kill(process.processIdentifier, signal) }

    /// Waits for the process to end, up to `seconds`; true if it ended.
    @discardableResult
    func waitForExit(seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        return !process.isRunning
    }

    /// The exit status, nil while the process runs (Foundation traps when asked before).
    var exitStatus: Int32? { process.isRunning ? nil : process.terminationStatus }

    /// How it ended, nil while it runs.
    var termination: (reason: Process.TerminationReason, status: Int32)? {
        process.isRunning ? nil : (process.terminationReason, process.terminationStatus)
    }

    /// SIGKILL and reap, if still running.
    func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    deinit { stop() }
}

/// Stops `process` as a user would (SIGTERM), then with SIGKILL if it is still running after
/// `seconds`, and reaps it: a daemon that hangs on shutdown must not hang the suite.
func stopGently(_ process: Process, within seconds: Double = 10) {
    guard process.isRunning else { return process.waitUntilExit() }
    process.terminate()
    let deadline = Date().addingTimeInterval(seconds)
    while process.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.1) }
    if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    process.waitUntilExit()
}

/// Polls `condition` (every 50 ms by default) until it holds or `seconds` pass; returns whether it held.
/// `every`: seconds between tries (longer where each try starts a process, as `psql`).
func eventually(within seconds: Double, every interval: Double = 0.05, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while true {
        if try condition() { return true }
        if Date() >= deadline { return false }
        Thread.sleep(forTimeInterval: interval)
    }
}

/// A fixture server from `Fixtures/` started with python3; its URL is its first line of output.
func startFixture(_ name: String, _ arguments: [String]) throws -> (ChildProcess, String) {
    let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/\(name)")
    let out = Pipe()
    let server = try ChildProcess(["python3", script.path] + arguments, executable: URL(fileURLWithPath: "/usr/bin/env"), stdout: out)
    let url = String(decoding: out.fileHandleForReading.availableData, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    guard url.hasPrefix("http://127.0.0.1:") else {
        server.stop()
        throw CocoaError(.fileReadUnknown, userInfo: [NSLocalizedDescriptionKey: "\(name) did not start: '\(url)'"])
    }
    return (server, url)
}

/// How many /items requests `slow_pages.py` at `url` has received (with `query`, what
/// another fixture's `/_count` counts).
func requestCount(_ url: String, query: String = "") throws -> Int {
    let curl = Process()
    curl.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    curl.arguments = ["curl", "-s", "--max-time", "5", url + "/_count" + query]
    let pipe = Pipe()
    curl.standardOutput = pipe
    try curl.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    curl.waitUntilExit()
    guard !data.isEmpty else { return -1 }
    let object = try JSONSerialization.jsonObject(with: data) as? [String: Any]
    return object?["count"] as? Int ?? -1
}

/// The first column of the first row of `sql`, read with `sheetsync query`.
func queryValue(_ sql: String, project: String) throws -> String {
    let value = csvValue(try CLI.run(["query", sql, "--format", "csv", "--project", project]).stdout)
    // A CSV field with commas is quoted.
    return value.hasPrefix("\"") ? String(value.dropFirst().dropLast()).replacingOccurrences(of: "\"\"", with: "\"") : value
}

/// A project with an `items` worksheet and a paginated job `items` reading `{{env.API}}/items`.
func slowPagesProject(schedule: String? = nil, settings: String? = nil) throws -> ProjectDirectory {
    var files = [
        "schema/items.yml": "key: [id]\nfields:\n  id: text\n  name: text\n",
        "jobs/items.yml": """
            kind: pull
            worksheet: items
            \(schedule.map { "schedule: \"\($0)\"" } ?? "")
            request:
              url: "{{env.API}}/items"
              timeout: 200s
              retry: { attempts: 1 }
            paginate: { style: page, has_more: $.has_more }
            records: $.data
            """,
    ]
    if let settings { files["sheetsync.yml"] = settings }
    return try ProjectDirectory(files: files)
}
