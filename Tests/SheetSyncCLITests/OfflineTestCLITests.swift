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
}
