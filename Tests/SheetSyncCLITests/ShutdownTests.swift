import Foundation
import Testing

/// Issue 15, item 11: `sheetsync serve` stops a run after the page being written, records it
/// `interrupted` with a plain message, and a second signal exits at once; a closed stdout
/// ends a command quietly.
struct ShutdownTests {
    /// Starts `serve` on a project whose job `items` runs every second over 40 slow pages,
    /// and waits until the first run has asked for its second page.
    func serveWithARunInFlight(grace: String, delay: String, hangPage: Int? = nil)
        throws -> (api: ChildProcess, url: String, project: ProjectDirectory, serve: ChildProcess) {
        let (api, url) = try startFixture("slow_pages.py", ["40", delay] + (hangPage.map { [String($0)] } ?? []))
        let project = try slowPagesProject(schedule: "@every 1s")
        let serve = try ChildProcess(["serve", "--http", "off", "--grace", grace, "--project", project.url.path], environment: ["API": url])
        let started = try eventually(within: 60) { try requestCount(url) >= 2 }
        if !started {
            serve.stop()
            api.stop()
            Issue.record("the run did not start: \(serve.stderr)")
            throw CancellationError()
        }
        return (api, url, project, serve)
    }

    func lastRun(_ path: String) throws -> (status: String, code: String, message: String) {
        let csv = try CLI.run(["query", "SELECT status, error_code, error_message FROM _sheetsync_runs WHERE job = 'items' AND status <> 'skipped' ORDER BY id DESC LIMIT 1",
                               "--format", "json", "--project", path]).stdout
        let rows = try JSONSerialization.jsonObject(with: Data(csv.utf8)) as? [[String: Any]] ?? []
        let row = rows.first ?? [:]
        return (row["status"] as? String ?? "-", row["error_code"] as? String ?? "-", row["error_message"] as? String ?? "-")
    }

    @Test(arguments: [("3s", SIGTERM), ("30s", SIGINT)])
    func aSignalStopsTheRunAfterThePageBeingWritten(grace: String, signal: Int32) throws {
        let (api, url, project, serve) = try serveWithARunInFlight(grace: grace, delay: "0.4")
        defer { serve.stop(); api.stop() }
        let before = try requestCount(url)
        serve.signal(signal)
        #expect(serve.waitForExit(seconds: 20), "serve did not stop: \(serve.stderr.suffix(2000))")
        #expect(serve.exitStatus == 0, "\(serve.stderr.suffix(2000))")
        // At most the page already asked for is fetched after the signal, none after it.
        let after = try requestCount(url)
        #expect(after <= before + 1, "pages requested after the signal: \(after - before)")
        let run = try lastRun(project.url.path)
        #expect(run.status == "interrupted", "\(run)")
        #expect(run.code == "interrupted", "\(run)")
        #expect(run.message.contains("stopped by shutdown"), "\(run)")
        #expect(run.message.contains("resumes"), "\(run)")
        #expect(!run.message.contains("CancellationError"), "\(run)")
        // The resume position is kept for the next run.
        #expect(try CLI.run(["state", "items", "--project", project.url.path]).stdout.contains("resume.position"))
    }

    @Test func theGraceRunningOutCutsTheRequestAndRecordsTheRunInterrupted() throws {
        // Page 3 takes 120 s; --grace 1s runs out while it is being fetched.
        let (api, _, project, serve) = try serveWithARunInFlight(grace: "1s", delay: "0", hangPage: 3)
        defer { serve.stop(); api.stop() }
        Thread.sleep(forTimeInterval: 0.3)
        serve.signal(SIGTERM)
        #expect(serve.waitForExit(seconds: 20), "serve did not stop: \(serve.stderr.suffix(2000))")
        #expect(serve.exitStatus == 0, "\(serve.stderr.suffix(2000))")
        let run = try lastRun(project.url.path)
        #expect(run.status == "interrupted", "\(run)")
        #expect(run.message.contains("stopped by shutdown"), "\(run)")
        #expect(!run.message.contains("CancellationError"), "\(run)")
    }

    @Test func aSecondSignalExitsAtOnce() throws {
        // Page 3 takes 120 s, and the grace is longer than the test: only a second signal ends it.
        let (api, _, project, serve) = try serveWithARunInFlight(grace: "5m", delay: "0", hangPage: 3)
        defer { serve.stop(); api.stop() }
        Thread.sleep(forTimeInterval: 0.3)
        serve.signal(SIGINT)
        let waited = eventually(within: 20) { serve.stderr.contains("stopping") }
        #expect(waited, "\(serve.stderr.suffix(2000))")
        #expect(!serve.waitForExit(seconds: 1), "the first signal waits for the page in flight")
        let second = Date()
        serve.signal(SIGINT)
        #expect(serve.waitForExit(seconds: 10), "a second SIGINT did not end serve: \(serve.stderr.suffix(2000))")
        #expect(Date().timeIntervalSince(second) < 10)
        #expect(serve.exitStatus == 130, "\(serve.stderr.suffix(2000))")
        let run = try lastRun(project.url.path)
        #expect(run.status == "interrupted", "\(run)")
    }

    /// Runs `arguments` with stdout a pipe nobody reads (closed before the first write):
    /// what `sheetsync … | head -0` gives; `| head -1` is the same after the first line.
    func runIntoAClosedPipe(_ arguments: [String], environment: [String: String] = [:]) throws -> (reason: Process.TerminationReason?, status: Int32?, stderr: String) {
        let pipe = Pipe()
        let child = try ChildProcess(arguments, environment: environment, stdout: pipe)
        defer { child.stop() }
        try pipe.fileHandleForReading.close()
        #expect(child.waitForExit(seconds: 120), "\(arguments) did not end")
        return (child.termination?.reason, child.termination?.status, child.stderr)
    }

    @Test func aClosedStdoutEndsACommandQuietly() throws {
        let (shop, shopURL) = try CrashRecoveryTests().startShop()
        defer { shop.terminate(); shop.waitUntilExit() }
        var files: [String: String] = [:]
        for folder in ["jobs", "schema"] {
            for name in try FileManager.default.contentsOfDirectory(atPath: DemoAndRunTests.root.appendingPathComponent(folder).path) {
                files["\(folder)/\(name)"] = try String(contentsOf: DemoAndRunTests.root.appendingPathComponent("\(folder)/\(name)"), encoding: .utf8)
            }
        }
        let project = try ProjectDirectory(files: files)
        let path = project.url.path
        let environment = ["SHOP_URL": shopURL, "SHOP_TOKEN": "demo-token", "ERP_URL": shopURL]
        #expect(try CLI.run(["migrate", "--project", path], environment: environment).status == 0)
        let commands: [[String]] = [
            ["query", "SELECT 1", "--project", path],
            ["test", "shop-orders", "--project", path],
            ["run", "shop-orders", "--dry-run", "--project", path],
            ["demo", "--dir", project.url.appendingPathComponent("demo").path],
        ]
        for command in commands {
            let result = try runIntoAClosedPipe(command, environment: environment)
            #expect(!result.stderr.contains("Fatal error") && !result.stderr.contains("Broken pipe"), "\(command[0]): \(result.stderr.suffix(1500))")
            // As any Unix tool (and `query`): ended by SIGPIPE, nothing printed.
            #expect(result.reason == .uncaughtSignal && result.status == SIGPIPE, "\(command[0]): \(String(describing: result.reason)) \(String(describing: result.status))")
        }
    }
}
