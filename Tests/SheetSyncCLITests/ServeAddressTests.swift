import Foundation
import Testing

/// `serve --http` listens on loopback only unless `--allow-remote-http` is given: the
/// endpoints have no authentication (issue 12).
struct ServeAddressTests {
    /// Runs the binary, and stops it with SIGTERM (then SIGKILL) if it is still running
    /// after `seconds`: before the check, `serve --http 0.0.0.0:0` served instead of exiting.
    func runBounded(_ arguments: [String], seconds: Double = 30) throws -> (result: CLIResult, stopped: Bool) {
        let process = Process()
        process.executableURL = CLI.binary
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env["SHEETSYNC_DB"] = nil
        process.environment = env
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        let stopped = process.isRunning
        if stopped {
            process.terminate()
            let killAt = Date().addingTimeInterval(10)
            while process.isRunning, Date() < killAt { Thread.sleep(forTimeInterval: 0.05) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
        process.waitUntilExit()
        let stdout = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        return (CLIResult(status: process.terminationStatus, stdout: stdout, stderr: stderr), stopped)
    }

    @Test(arguments: [
        ("0.0.0.0:0", "0.0.0.0"),
        ("[::]:0", "::"),
        ("192.0.2.10:9410", "192.0.2.10"),
        ("127.0.0.1.example.com:0", "127.0.0.1.example.com"),
    ])
    func aNonLoopbackAddressIsRefusedWithoutBinding(address: String, host: String) throws {
        let project = try ProjectDirectory(files: ProjectDirectory.orders)
        let before = try FileManager.default.contentsOfDirectory(atPath: project.url.path).sorted()
        let (result, stopped) = try runBounded(["serve", "--http", address, "--grace", "1s", "--project", project.url.path])
        #expect(!stopped, "serve kept running on \(address)")
        #expect(result.status == 64)
        #expect(result.stderr.contains("Unable to serve the HTTP endpoints on '\(address)', '\(host)' is not a loopback address and /healthz, /status and /metrics have no authentication. Use 127.0.0.1, ::1 or localhost, or pass --allow-remote-http to listen there anyway."), "\(result.stderr)")
        #expect(!result.stderr.contains("endpoints at"))
        // Refused before anything else: no database was created.
        #expect(try FileManager.default.contentsOfDirectory(atPath: project.url.path).sorted() == before)
    }

    @Test func allowRemoteHTTPLiftsTheRefusalWithAWarning() throws {
        // A broken sheetsync.yml stops serve right after the address check, before it
        // binds anything: the flag is seen to lift the refusal (exit 1, not 64).
        var files = ProjectDirectory.orders
        files["sheetsync.yml"] = "bogus_key: 1\n"
        let project = try ProjectDirectory(files: files)
        let (result, stopped) = try runBounded(["serve", "--http", "0.0.0.0:0", "--allow-remote-http", "--grace", "1s", "--project", project.url.path])
        #expect(!stopped)
        #expect(result.status == 1, "\(result.stderr)")
        #expect(result.stderr.contains("warning: --allow-remote-http: the HTTP endpoints on '0.0.0.0:0' have no authentication"), "\(result.stderr)")
        #expect(result.stderr.contains("sheetsync.yml:1:1: error: unknown key 'bogus_key'"))
        #expect(!result.stderr.contains("endpoints at"))
    }

    @Test(arguments: ["127.0.0.1:0", "127.8.9.10:0", "localhost:0", "[::1]:0"])
    func loopbackAddressesNeedNoFlagAndGetNoWarning(address: String) throws {
        var files = ProjectDirectory.orders
        files["sheetsync.yml"] = "bogus_key: 1\n"
        let project = try ProjectDirectory(files: files)
        let (result, stopped) = try runBounded(["serve", "--http", address, "--grace", "1s", "--project", project.url.path])
        #expect(!stopped)
        #expect(result.status == 1, "\(result.stderr)")
        #expect(!result.stderr.contains("warning: --allow-remote-http"))
        #expect(!result.stderr.contains("not a loopback address"))
    }
}
