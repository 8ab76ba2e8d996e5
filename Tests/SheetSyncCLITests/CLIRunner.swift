import Foundation

/// Runs the real `sheetsync` binary built next to the test bundle.
struct CLIResult {
    var status: Int32
    var stdout: String
    var stderr: String
}

enum CLI {
    /// The directory holding the test bundle also holds the products it depends on.
    /// `SHEETSYNC_TEST_BINARY` runs the tests against another build (an older one, to see a
    /// new test fail on it).
    static let binary: URL = {
        if let other = ProcessInfo.processInfo.environment["SHEETSYNC_TEST_BINARY"] { return URL(fileURLWithPath: other) }
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = directory.appendingPathComponent("sheetsync")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            directory.deleteLastPathComponent()
        }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent(".build/debug/sheetsync")
    }()

    /// Runs the binary (or `executable`, for a wrapper such as a pseudo-terminal).
    static func run(_ arguments: [String], in directory: URL? = nil, executable: URL? = nil, environment: [String: String] = [:]) throws -> CLIResult {
        let process = Process()
        process.executableURL = executable ?? binary
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = directory }
        var env = ProcessInfo.processInfo.environment
        env["SHEETSYNC_DB"] = nil
        for (key, value) in environment { env[key] = value }
        process.environment = env
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Read both pipes concurrently so a full pipe never blocks the child.
        nonisolated(unsafe) var errData = Data()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async {
            errData = err.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        return CLIResult(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                         stderr: String(decoding: errData, as: UTF8.self))
    }
}

/// A temporary project directory for CLI runs.
final class ProjectDirectory {
    let url: URL

    init(files: [String: String]) throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("sheetsync-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        for (path, text) in files {
            let file = url.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
            try text.write(to: file, atomically: true, encoding: .utf8)
        }
    }

    deinit {
        try? FileManager.default.removeItem(at: url)
    }

    static let orders: [String: String] = [
        "schema/orders.yml": "key: [id]\nfields:\n  id: text\n  status: text\n  total: decimal\n",
    ]
}

/// The value of a one-value `query --format csv` result (CSV lines end in "\r\n",
/// which Swift counts as one Character, so split on the text, not on "\n").
func csvValue(_ csv: String) -> String {
    let lines = csv.components(separatedBy: "\r\n")
    return (lines.count > 1 ? lines[1] : "").trimmingCharacters(in: .whitespacesAndNewlines)
}

/// `sheetsync demo serve --port 0` (plus `arguments`) in the background: the process, the
/// shop's base URL and its token, from the banner it prints. Terminate the process.
func startDemoShop(_ arguments: [String] = []) throws -> (process: Process, url: String, token: String) {
    let shop = Process()
    shop.executableURL = CLI.binary
    shop.arguments = ["demo", "serve", "--port", "0"] + arguments
    let out = Pipe()
    shop.standardOutput = out
    shop.standardError = FileHandle.nullDevice
    try shop.run()
    let banner = String(decoding: out.fileHandleForReading.availableData, as: UTF8.self)
    let words = banner.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == ";" })
    guard let url = words.first(where: { $0.hasPrefix("http://127.0.0.1:") }).map(String.init),
          let token = words.firstIndex(of: "token:").map({ String(words[$0 + 1]) }) else {
        shop.terminate()
        throw CocoaError(.fileReadUnknown)
    }
    return (shop, url, token)
}
