import Foundation
import Testing

/// 50 jobs on `@every 1s` for two minutes: no overlapping runs of a job, start
/// lateness and memory printed and checked loosely. Takes ~2.5 minutes, so it runs
/// when SHEETSYNC_SOAK=1 (CI sets it in .ci/run).
struct SchedulerSoakTests {
    static let enabled = ProcessInfo.processInfo.environment["SHEETSYNC_SOAK"] == "1"

    func rss(_ pid: Int32) -> Int {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }) else { return 0 }
        return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
    }

    @Test(.enabled(if: SchedulerSoakTests.enabled))
    func fiftyJobsForTwoMinutes() throws {
        let (shop, shopURL) = try CrashRecoveryTests().startShop()
        defer { shop.terminate(); shop.waitUntilExit() }
        var files = ["schema/orders.yml": try String(contentsOf: CrashRecoveryTests.schema.appendingPathComponent("orders.yml"), encoding: .utf8)]
        for index in 1...50 {
            files["jobs/j\(index).yml"] = """
                kind: pull
                worksheet: orders
                schedule: "@every 1s"
                request:
                  url: "{{env.SHOP_URL}}/v1/orders"
                  query: { per_page: "5", page: "\(index % 8 + 1)" }
                  headers: { Authorization: "Bearer {{secret.SHOP_TOKEN}}" }
                records: $.data
                fields: { id: $.id, status: $.status, updated_at: $.updated_at }
                """
        }
        let project = try ProjectDirectory(files: files)
        let path = project.url.path
        let tests = ServeTests()
        let (serve, lines) = try tests.startServe(path, environment: ["SHOP_URL": shopURL, "SHOP_TOKEN": "demo-token"])
        let base = try tests.endpoint(lines)
        Thread.sleep(forTimeInterval: 20)
        let early = rss(serve.processIdentifier)
        Thread.sleep(forTimeInterval: 100)
        let late = rss(serve.processIdentifier)
        let metrics = try tests.curl(base + "/metrics")
        serve.terminate()
        serve.waitUntilExit()
        #expect(serve.terminationStatus == 0)

        func metric(_ name: String) -> Double? {
            metrics.split(separator: "\n").first { $0.hasPrefix(name + " ") }.flatMap { Double($0.split(separator: " ").last ?? "") }
        }
        // The histogram's buckets (swift-prometheus): p99 is the upper bound of the first
        // bucket that holds 99% of the ticks.
        let count = metric("sheetsync_scheduler_lateness_seconds_count") ?? 0
        let buckets: [(bound: Double, count: Double)] = metrics.split(separator: "\n").compactMap { line in
            guard line.hasPrefix("sheetsync_scheduler_lateness_seconds_bucket{le=\""),
                  let bound = line.split(separator: "\"").dropFirst().first.flatMap({ Double($0) }),
                  let value = Double(line.split(separator: " ").last ?? "") else { return nil }
            return (bound, value)
        }
        let p99 = try #require(buckets.first { $0.count >= 0.99 * count }?.bound, "\(metrics)")
        // Overlap: per job, no run starts before the previous one ended.
        let overlaps = try CLI.run(["query", """
            SELECT count(*) FROM _sheetsync_runs a JOIN _sheetsync_runs b
              ON a.job = b.job AND b.id > a.id AND b.started_at < a.ended_at AND a.status != 'skipped' AND b.status != 'skipped'
            """, "--format", "csv", "--project", path]).stdout
        let total = try CLI.run(["query", "SELECT count(*) FROM _sheetsync_runs WHERE status = 'succeeded'", "--format", "csv", "--project", path]).stdout
        print("soak: \(csvValue(total)) runs succeeded, \(Int(count)) ticks, p99 start lateness ≤ \(Int(p99 * 1000)) ms (histogram bucket), RSS \(early) kB after 20 s → \(late) kB after 120 s")
        #expect(csvValue(overlaps) == "0")
        #expect((Int(csvValue(total)) ?? 0) > 50 * 60, "far fewer runs than 50 jobs × 120 ticks")
        // Asserted loosely, as the issue asks: measured 160 ms on this machine kind (2 cores) on 2026-11-23;
        // the target is under 200 ms. Runs do their SQLite work synchronously on the cooperative
        // thread pool, which is what delays the scheduler under load (see the README's Status).
        #expect(p99 <= 0.5, "p99 start lateness at most \(p99) s")
        #expect(Double(late) <= Double(early) * 1.2 + 2048, "RSS grew from \(early) kB to \(late) kB")
    }
}
