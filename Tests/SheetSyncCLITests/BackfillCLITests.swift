import Foundation
import Testing

struct BackfillCLITests {
    /// On both stores: windows, their runs, a second backfill that finds them done, --restart.
    @Test(arguments: Backend.allCases)
    func backfillRunsWindowsWithProgressLines(backend: Backend) throws {
        let crash = CrashRecoveryTests()
        let (shop, url) = try crash.startShop()
        defer { shop.terminate(); shop.waitUntilExit() }
        var files: [String: String] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: CrashRecoveryTests.schema.path) {
            files["schema/\(name)"] = try String(contentsOf: CrashRecoveryTests.schema.appendingPathComponent(name), encoding: .utf8)
        }
        files["jobs/orders.yml"] = """
            kind: pull
            worksheet: orders
            request:
              url: "{{env.SHOP_URL}}/v1/orders"
              query: { updated_since: "{{window.start}}", updated_before: "{{window.end}}" }
              headers: { Authorization: "Bearer {{secret.SHOP_TOKEN}}" }
            paginate: { style: page, size_param: per_page, size: 10, has_more: $.has_more }
            incremental: { cursor: $.updated_at }
            records: $.data
            fields: { id: $.id, status: $.status, updated_at: $.updated_at }
            """
        let project = try ProjectDirectory(files: files)
        let path = project.url.path
        let database = try backend.freshDatabase()
        let environment = ["SHOP_URL": url, "SHOP_TOKEN": "demo-token"].merging(database) { $1 }
        let result = try CLI.run(["backfill", "orders", "--from", "2024-01-01", "--to", "2024-01-04", "--step", "1d",
                                  "--concurrency", "2", "--project", path], environment: environment)
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout == "orders: backfill complete: 3/3 windows, 40 rows written\n")
        let lines = result.stderr.split(separator: "\n").filter { $0.hasPrefix("window ") }
        #expect(lines.count == 3)
        #expect(lines.contains { $0.hasPrefix("window 2024-01-01T00:00:00Z .. 2024-01-02T00:00:00Z: succeeded") })
        #expect(try CLI.run(["query", "SELECT count(*) AS n FROM orders", "--format", "csv", "--project", path], environment: database).stdout == "n\r\n40\n")
        // The incremental cursor was not touched by the backfill.
        #expect(try CLI.run(["state", "orders", "--project", path], environment: database).stdout == "orders: no saved state\n")
        // Issue 15, item 10: the same command again does nothing (every window is done), as the
        // README says; before, it redid every window. --restart runs them all again.
        let arguments = ["backfill", "orders", "--from", "2024-01-01", "--to", "2024-01-04", "--step", "1d", "--project", path]
        let again = try CLI.run(arguments, environment: environment)
        #expect(again.status == 0, "\(again.stdout)\(again.stderr)")
        #expect(again.stdout.hasPrefix("orders: backfill complete: 3/3 windows, 0 rows written"), "\(again.stdout)")
        #expect(again.stdout.contains("--restart"), "\(again.stdout)")
        #expect(!again.stderr.contains("window 2024"), "\(again.stderr)")
        let backfillRuns = ["query", "SELECT count(*) AS n FROM _sheetsync_runs WHERE trigger = 'backfill'", "--format", "csv", "--project", path]
        #expect(try CLI.run(backfillRuns, environment: database).stdout == "n\r\n3\n")
        let restarted = try CLI.run(arguments + ["--restart"], environment: environment)
        #expect(restarted.status == 0, "\(restarted.stdout)\(restarted.stderr)")
        // Every window ran again; the rows were already there, so none was written.
        #expect(restarted.stdout == "orders: backfill complete: 3/3 windows, 0 rows written\n")
        #expect(restarted.stderr.split(separator: "\n").filter { $0.hasPrefix("window ") }.count == 3)
        #expect(try CLI.run(backfillRuns, environment: database).stdout == "n\r\n6\n")
        let bad = try CLI.run(["backfill", "orders", "--from", "2024-01-04", "--to", "2024-01-01", "--project", path], environment: environment)
        #expect(bad.status == 64)
        #expect(bad.stderr.contains("must be before --to"))
    }

    /// Issue 18: a backfill with an unset secret ran and failed all 48 windows (96 lines, 48
    /// failed runs); one with a wrong token did the same; one whose job never uses
    /// `{{window.*}}` reported success and fetched the same records every window.
    @Test func aBackfillFailsFastAndWarnsWhenWindowsAreUnused() throws {
        let (shop, url) = try CrashRecoveryTests().startShop()
        defer { shop.terminate(); shop.waitUntilExit() }
        var files: [String: String] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: CrashRecoveryTests.schema.path) {
            files["schema/\(name)"] = try String(contentsOf: CrashRecoveryTests.schema.appendingPathComponent(name), encoding: .utf8)
        }
        let job = """
            kind: pull
            worksheet: orders
            request:
              url: "{{env.SHOP_URL}}/v1/orders"
              query: { updated_since: "{{window.start}}", updated_before: "{{window.end}}" }
              headers: { Authorization: "Bearer {{secret.SHOP_TOKEN}}" }
              retry: { attempts: 1 }
            records: $.data
            fields: { id: $.id, status: $.status, updated_at: $.updated_at }
            """
        files["jobs/orders.yml"] = job
        // The server's own error code recorded instead of 'status': still a 401.
        files["jobs/coded.yml"] = job.replacingOccurrences(of: "  retry: { attempts: 1 }\n", with: "  retry: { attempts: 1 }\n  error: { code: $.error.code, message: $.error.message }\n")
        files["jobs/same.yml"] = job.replacingOccurrences(of: #"  query: { updated_since: "{{window.start}}", updated_before: "{{window.end}}" }"# + "\n", with: "")
        let project = try ProjectDirectory(files: files)
        let path = project.url.path
        let range = ["--from", "2024-01-01", "--to", "2024-01-03", "--step", "1h", "--project", path]

        let unset = try CLI.run(["backfill", "orders"] + range, environment: ["SHOP_URL": url])
        #expect(unset.status == 1)
        #expect(unset.stderr.contains("error: backfill not started, every window would fail:"), "\(unset.stderr)")
        #expect(unset.stderr.contains("SHOP_TOKEN"), "\(unset.stderr)")
        let runs = try CLI.run(["query", "SELECT count(*) FROM _sheetsync_runs", "--format", "csv", "--project", path])
        #expect(csvValue(runs.stdout) == "0", "no run was recorded: \(runs.stdout)")

        let wrong = try CLI.run(["backfill", "orders"] + range, environment: ["SHOP_URL": url, "SHOP_TOKEN": "wrong"])
        #expect(wrong.status == 1)
        #expect(wrong.stdout.contains("backfill incomplete: 0/48 windows"), "\(wrong.stdout)")
        #expect(wrong.stderr.contains("the first window failed and no other was started"), "\(wrong.stderr)")
        #expect(wrong.stderr.split(separator: "\n").filter { $0.hasPrefix("window ") }.count == 1, "\(wrong.stderr)")
        let failed = try CLI.run(["query", "SELECT count(*) FROM _sheetsync_runs WHERE status = 'failed'", "--format", "csv", "--project", path])
        #expect(csvValue(failed.stdout) == "1", "\(failed.stdout)")

        let coded = try CLI.run(["backfill", "coded"] + range, environment: ["SHOP_URL": url, "SHOP_TOKEN": "wrong"])
        #expect(coded.status == 1)
        #expect(coded.stderr.contains("the first window failed and no other was started"), "\(coded.stderr)")
        #expect(coded.stderr.split(separator: "\n").filter { $0.hasPrefix("window ") }.count == 1, "\(coded.stderr)")
        let codes = try CLI.run(["query", "SELECT group_concat(DISTINCT error_code) FROM _sheetsync_runs WHERE job = 'coded'", "--format", "csv", "--project", path])
        #expect(csvValue(codes.stdout) == "unauthorized", "\(codes.stdout)")

        let same = try CLI.run(["backfill", "same", "--from", "2024-01-01", "--to", "2024-01-03", "--project", path],
                               environment: ["SHOP_URL": url, "SHOP_TOKEN": "demo-token"])
        #expect(same.status == 0, "\(same.stderr)")
        #expect(same.stderr.contains("warning: job 'same' uses neither {{window.start}} nor {{window.end}}: each of the 2 window(s) sends the same requests"), "\(same.stderr)")
        let fine = try CLI.run(["backfill", "orders", "--from", "2024-01-01", "--to", "2024-01-03", "--project", path],
                               environment: ["SHOP_URL": url, "SHOP_TOKEN": "demo-token"])
        #expect(fine.status == 0, "\(fine.stderr)")
        #expect(!fine.stderr.contains("warning"), "\(fine.stderr)")
    }
}
