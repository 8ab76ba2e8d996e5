import Foundation
import Testing
import SheetSyncTesting

/// Issue 18, "silent mistakes": a typo in a field's path or in `has_more` made a run that
/// said `succeeded` and wrote NULLs (or never stopped on the flag). Now the run says so,
/// once, on stderr and in its recorded details.
struct SilentMistakesCLITests {
    @Test func aPathThatFindsNothingIsAWarningOnceInTheOutputAndTheRunDetails() throws {
        let (shop, url, _) = try startDemoShop()  // 50 customers
        defer { shop.terminate(); shop.waitUntilExit() }
        let parent = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: parent) }
        let directory = parent.appendingPathComponent("p")
        #expect(try CLI.run(["init", directory.path]).status == 0)
        let jobFile = directory.appendingPathComponent("jobs/customers.yml")
        let job = try String(contentsOf: jobFile, encoding: .utf8)
            .replacingOccurrences(of: #"email: "$.email""#, with: #"email: "$.emial""#)
            .replacingOccurrences(of: #"size: 100, has_more: "$.has_more""#, with: #"size: 20, has_more: "$.hasmore""#)
        #expect(job.contains("$.emial") && job.contains("$.hasmore"))
        try job.write(to: jobFile, atomically: true, encoding: .utf8)

        let run = try CLI.run(["run", "customers", "--project", directory.path], environment: ["SHOP_URL": url, "SHOP_TOKEN": "demo-token"])
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        #expect(run.stdout.contains("50 inserted"), "\(run.stdout)")
        let typo = "field 'email' of 'customers' ($.emial) found nothing in any of the 50 records mapped"
        #expect(run.stderr.components(separatedBy: typo).count == 2, "\(run.stderr)")
        let flag = "paginate.has_more '$.hasmore' is not in the response"
        #expect(run.stderr.components(separatedBy: flag).count == 2, "said once for 3 pages: \(run.stderr)")
        #expect(!run.stderr.contains("field 'name'"), "\(run.stderr)")
        let details = try CLI.run(["query", "--project", directory.path, "--format", "csv", "SELECT details FROM _sheetsync_runs"])
        #expect(details.stdout.contains("found nothing in any of the 50 records"), "\(details.stdout)")
        #expect(details.stdout.contains("is not in the response"), "\(details.stdout)")

        // Fixed: no warning.
        try job.replacingOccurrences(of: "$.emial", with: "$.email").replacingOccurrences(of: "$.hasmore", with: "$.has_more")
            .write(to: jobFile, atomically: true, encoding: .utf8)
        let fixed = try CLI.run(["run", "customers", "--project", directory.path], environment: ["SHOP_URL": url, "SHOP_TOKEN": "demo-token"])
        #expect(fixed.status == 0)
        #expect(!fixed.stderr.contains("warning"), "\(fixed.stderr)")
    }
}
