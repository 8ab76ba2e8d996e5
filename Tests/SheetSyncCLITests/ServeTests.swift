import Foundation
import Testing

/// `sheetsync serve` as a real process.
struct ServeTests {
    final class Lines: @unchecked Sendable {
        private let lock = NSLock()
        private var text = ""
        func append(_ data: Data) { lock.lock(); text += String(decoding: data, as: UTF8.self); lock.unlock() }
        var all: String { lock.lock(); defer { lock.unlock() }; return text }
    }

    func curl(_ url: String) throws -> String {
        let curl = Process()
        curl.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        curl.arguments = ["curl", "-s", "--max-time", "5", url]
        let pipe = Pipe()
        curl.standardOutput = pipe
        try curl.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        curl.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    func startServe(_ path: String, environment: [String: String]) throws -> (Process, Lines) {
        let serve = Process()
        serve.executableURL = CLI.binary
        serve.arguments = ["serve", "--http", "127.0.0.1:0", "--grace", "10s", "--project", path]
        var env = ProcessInfo.processInfo.environment
        for (key, value) in environment { env[key] = value }
        serve.environment = env
        let lines = Lines()
        let err = Pipe()
        err.fileHandleForReading.readabilityHandler = { handle in lines.append(handle.availableData) }
        serve.standardError = err
        serve.standardOutput = FileHandle.nullDevice
        try serve.run()
        return (serve, lines)
    }

    func endpoint(_ lines: Lines) throws -> String {
        for _ in 0..<100 {
            if let range = lines.all.range(of: "endpoints at http://") {
                let rest = lines.all[range.upperBound...]
                return "http://" + rest.prefix { $0 != "/" }
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
        throw CocoaError(.fileReadUnknown)
    }

    @Test func servesSchedulesEndpointsAndStopsCleanly() throws {
        let (shop, shopURL) = try CrashRecoveryTests().startShop()
        defer { shop.terminate(); shop.waitUntilExit() }
        var files: [String: String] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: CrashRecoveryTests.schema.path) {
            files["schema/\(name)"] = try String(contentsOf: CrashRecoveryTests.schema.appendingPathComponent(name), encoding: .utf8)
        }
        files["jobs/orders.yml"] = CrashRecoveryTests.job.replacingOccurrences(of: "kind: pull", with: "kind: pull\nschedule: \"@every 1s\"")
        files["jobs/shipped.yml"] = try String(contentsOf: DemoAndRunTests.root.appendingPathComponent("jobs/shipped-to-erp.yml"), encoding: .utf8)
        let project = try ProjectDirectory(files: files)
        let path = project.url.path
        let environment = ["SHOP_URL": shopURL, "SHOP_TOKEN": "demo-token", "ERP_URL": shopURL]

        let (serve, lines) = try startServe(path, environment: environment)
        let base = try endpoint(lines)
        Thread.sleep(forTimeInterval: 2.5)
        #expect(try curl(base + "/healthz") == "ok\n")
        let status = try curl(base + "/status")
        #expect(status.contains(#""name":"orders""#))
        #expect(status.contains(#""status":"succeeded""#))
        #expect(status.contains(#""schedule":"continuous""#))
        let metrics = try curl(base + "/metrics")
        #expect(metrics.contains(#"sheetsync_runs_total{job="orders",status="succeeded"}"#))
        #expect(metrics.contains(#"sheetsync_deliveries{job="shipped",state="delivered"}"#))
        #expect(metrics.contains("sheetsync_scheduler_lateness_seconds_count"))
        // Issue 18: through swift-metrics into swift-prometheus — histograms of run durations
        // and lateness, records, rows by outcome, requests by status.
        #expect(metrics.contains(#"sheetsync_run_duration_seconds_bucket{job="orders",le="0.5"}"#), "\(metrics)")
        #expect(metrics.contains(#"sheetsync_scheduler_lateness_seconds_bucket{le="0.1"}"#))
        #expect(metrics.contains(#"sheetsync_records_total{job="orders"}"#))
        #expect(metrics.contains(#/sheetsync_rows_total\{job="orders",outcome="inserted"\} [1-9]\d*\n/#), "\(metrics)")
        #expect(metrics.contains(#"sheetsync_requests{job="orders",status="200"}"#))
        #expect(metrics.contains("sheetsync_up 1"))

        // A second daemon on the same database refuses to run the schedule.
        let second = try CLI.run(["serve", "--http", "off", "--project", path], environment: environment)
        #expect(second.status == 1)
        #expect(second.stderr.contains("another 'sheetsync serve' (pid \(serve.processIdentifier))"))

        // SIGTERM: stops within the grace period, exit 0, database consistent.
        let stopping = Date()
        serve.terminate()
        serve.waitUntilExit()
        #expect(serve.terminationStatus == 0, "\(lines.all.suffix(2000))")
        #expect(Date().timeIntervalSince(stopping) < 10)
        // The daemon closed the database: its log was copied into the file and removed, so
        // the file alone (a copy, a backup) holds every run.
        let log = project.url.appendingPathComponent("sheetsync.db-wal").path
        let logSize = (try? FileManager.default.attributesOfItem(atPath: log)[.size] as? Int) ?? 0
        #expect(logSize == 0, "the stopped daemon left \(logSize) bytes in sheetsync.db-wal")
        #expect(try CLI.run(["query", "PRAGMA integrity_check", "--format", "csv", "--project", path]).stdout == "integrity_check\r\nok\n")
        #expect(try CLI.run(["query", "SELECT count(*) FROM _sheetsync_runs WHERE status = 'running'", "--format", "csv", "--project", path]).stdout == "count(*)\r\n0\n")
        let before = try CLI.run(["query", "SELECT count(*) FROM _sheetsync_runs WHERE job = 'orders'", "--format", "csv", "--project", path]).stdout

        // A restart picks up again.
        let (again, againLines) = try startServe(path, environment: environment)
        _ = try endpoint(againLines)
        Thread.sleep(forTimeInterval: 2)
        again.terminate()
        again.waitUntilExit()
        #expect(again.terminationStatus == 0)
        let after = try CLI.run(["query", "SELECT count(*) FROM _sheetsync_runs WHERE job = 'orders'", "--format", "csv", "--project", path]).stdout
        #expect(after != before)
        let table = try CLI.run(["status", "--project", path], environment: environment)
        #expect(table.stdout.contains("orders"))
        #expect(table.stdout.contains("@every 1s"))
        #expect(table.stderr.contains("no daemon is running"))
    }
}

extension ServeTests {
    @Test func reloadsJobsKeepingThePreviousVersionOfABrokenFile() throws {
        let (shop, shopURL) = try CrashRecoveryTests().startShop()
        defer { shop.terminate(); shop.waitUntilExit() }
        var files: [String: String] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: CrashRecoveryTests.schema.path) {
            files["schema/\(name)"] = try String(contentsOf: CrashRecoveryTests.schema.appendingPathComponent(name), encoding: .utf8)
        }
        let job = CrashRecoveryTests.job.replacingOccurrences(of: "kind: pull", with: "kind: pull\nschedule: \"@every 1s\"")
        files["jobs/a.yml"] = job
        let project = try ProjectDirectory(files: files)
        let path = project.url.path
        let environment = ["SHOP_URL": shopURL, "SHOP_TOKEN": "demo-token"]
        let (serve, lines) = try startServe(path, environment: environment)
        defer { if serve.isRunning { serve.terminate(); serve.waitUntilExit() } }
        _ = try endpoint(lines)
        func runs(_ job: String) throws -> Int {
            let result = try CLI.run(["query", "SELECT count(*) FROM _sheetsync_runs WHERE job = '\(job)'", "--format", "csv", "--project", path])
            return Int(csvValue(result.stdout)) ?? -1
        }
        Thread.sleep(forTimeInterval: 1.5)
        // A broken edit: reported, and the previous version keeps running.
        try (job + "\nbogus_key: 1\n").write(to: project.url.appendingPathComponent("jobs/a.yml"), atomically: true, encoding: .utf8)
        // A new job starts.
        try job.write(to: project.url.appendingPathComponent("jobs/b.yml"), atomically: true, encoding: .utf8)
        Thread.sleep(forTimeInterval: 3.5)
        let aBefore = try runs("a")
        #expect(try runs("b") >= 1, "the new job did not start")
        #expect(lines.all.contains("jobs/a.yml:"))
        #expect(lines.all.contains("unknown key 'bogus_key'"))
        // Removing a job stops it.
        try FileManager.default.removeItem(at: project.url.appendingPathComponent("jobs/b.yml"))
        Thread.sleep(forTimeInterval: 3)
        let bStopped = try runs("b")
        Thread.sleep(forTimeInterval: 2)
        #expect(try runs("b") == bStopped, "the removed job kept running")
        #expect(try runs("a") > aBefore, "the job with a broken file stopped running")
        serve.terminate()
        serve.waitUntilExit()
        #expect(serve.terminationStatus == 0)
    }
}
