import Foundation
import Testing

/// Issue 16, item 9: a job's mapping is tested against a saved response, without calling the API.
struct OfflineTestCLITests {
    @Test func aSavedResponseIsMappedWithoutARequest() throws {
        var files = ProjectDirectory.orders
        files["jobs/orders.yml"] = """
            kind: pull
            worksheet: orders
            request:
              url: "http://127.0.0.1:9/orders"
              headers: { Authorization: "Bearer {{secret.UNSET_TOKEN}}" }
            records: $.data
            fields: { id: $.id, status: $.state, total: $.amount }
            """
        files["saved/orders.json"] = #"{"data": [{"id": "o1", "state": "paid", "amount": "12.50"}, {"id": "o2", "state": "new", "amount": "lots"}]}"#
        let project = try ProjectDirectory(files: files)
        let path = project.url.path
        let result = try CLI.run(["test", "orders", "--response", path + "/saved/orders.json", "--project", path])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("# offline: the request below is not sent"), "\(result.stdout)")
        #expect(result.stdout.contains("orders: Get Multiple Data gives 1 row"), "\(result.stdout)")
        #expect(result.stdout.contains("o1") && result.stdout.contains("12.50"), "\(result.stdout)")
        #expect(result.stdout.contains("1 record(s) would be rejected"), "\(result.stdout)")
        #expect(!FileManager.default.fileExists(atPath: path + "/sheetsync.db"), "an offline test created the database")

        let missing = try CLI.run(["test", "orders", "--response", path + "/saved/nope.json", "--project", path])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("cannot read the saved response"), "\(missing.stderr)")
    }

    /// Job tests in `tests/JOB/`: a saved response and the rows it must give, checked by
    /// `sheetsync verify`, which prints each difference and exits 1 on any.
    @Test func verifyComparesSavedResponsesWithTheirExpectedRows() throws {
        var files = ProjectDirectory.orders
        files["jobs/orders.yml"] = """
            kind: pull
            worksheet: orders
            request: { url: "http://127.0.0.1:9/orders" }
            records: $.data
            fields: { id: $.id, status: $.state, total: $.amount }
            """
        files["tests/orders/page1.json"] = #"{"data": [{"id": "o1", "state": "paid", "amount": "12.50"}, {"id": "o2", "state": null, "amount": "lots"}]}"#
        files["tests/orders/page1.expected.yml"] = "orders:\n  - { id: o1, status: paid, total: \"12.50\" }\nrejects: 1\n"
        let project = try ProjectDirectory(files: files)
        let path = project.url.path
        let passing = try CLI.run(["verify", "--project", path])
        #expect(passing.status == 0, "\(passing.stdout)\(passing.stderr)")
        #expect(passing.stdout.contains("ok    tests/orders/page1") && passing.stdout.contains("1 passed, 0 failed"), "\(passing.stdout)")

        // A mapping change the expectation does not allow: every difference is named.
        try """
            orders:
              - { id: o1, status: shipped, total: "12.5" }
              - { id: o2 }
            rejects: 0
            """.write(to: project.url.appendingPathComponent("tests/orders/page1.expected.yml"), atomically: true, encoding: .utf8)
        let failing = try CLI.run(["verify", "orders", "--project", path])
        #expect(failing.status == 1)
        #expect(failing.stdout.contains("FAIL  tests/orders/page1"), "\(failing.stdout)")
        #expect(failing.stdout.contains("orders: expected 2 row(s), got 1"), "\(failing.stdout)")
        #expect(failing.stdout.contains("orders row 1: status: expected shipped, got paid"), "\(failing.stdout)")
        #expect(failing.stdout.contains("orders row 1: total: expected 12.5, got 12.50"), "\(failing.stdout)")
        #expect(failing.stdout.contains("rejects: expected 0, got 1"), "\(failing.stdout)")
        #expect(failing.stdout.contains("0 passed, 1 failed"), "\(failing.stdout)")

        // A saved response without expectations is a problem, not a silent pass.
        try "{}".write(to: project.url.appendingPathComponent("tests/orders/page2.json"), atomically: true, encoding: .utf8)
        let missing = try CLI.run(["verify", "--project", path])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("tests/orders/page2.expected.yml:1:1: error: missing"), "\(missing.stderr)")
        #expect(!FileManager.default.fileExists(atPath: path + "/sheetsync.db"))
    }
}
