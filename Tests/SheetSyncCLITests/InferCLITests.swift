import Foundation
import Testing

/// Issue 16, item 4: `sheetsync infer` proposes worksheets and a job's mapping from a sample,
/// writes them without overwriting anything, and the result validates and syncs the sample.
struct InferCLITests {
    /// Two orders with a nested customer, a zip code with a leading zero, a float, line items
    /// with tax lines, tags (an array of values) and a member that is always null.
    static let sample = """
        {"data": [
          {"id": "o1", "number": 1001, "total": 12.5, "zip": "01234", "paid": true, "created_at": "2024-03-10T17:30:00+02:00",
           "customer": {"email": "a@x.io", "address": {"city": "Berlin"}}, "tags": ["a", "b"], "note": null, "Zip Code": "10115",
           "items": [{"sku": "S1", "qty": 2, "price": "9.99", "taxes": [{"name": "vat", "amount": 1.9}]},
                     {"sku": "S2", "qty": 1, "price": "2.50", "taxes": []}]},
          {"id": "o2", "number": 1002, "total": 3, "zip": "54321", "paid": false, "created_at": "2024-03-12T08:00:00Z",
           "customer": {"email": "b@x.io", "address": {"city": "Paris"}}, "tags": [], "note": null, "Zip Code": "75001",
           "items": [{"sku": "S1", "qty": 5, "price": "1.00", "taxes": [{"name": "vat", "amount": 0.19}]}]}
        ], "has_more": false}
        """

    /// Serves `sample.json` of `project` at `/orders` on 127.0.0.1 for the duration of `body`.
    static func withSampleServer<T>(_ project: ProjectDirectory, _ body: (String) throws -> T) throws -> T {
        let (server, url) = try startFixture("sample_api.py", [project.url.appendingPathComponent("sample.json").path])
        defer { server.stop() }
        return try body(url)
    }

    static func read(_ project: ProjectDirectory, _ path: String) -> String? {
        FileManager.default.contents(atPath: project.url.appendingPathComponent(path).path).map { String(decoding: $0, as: UTF8.self) }
    }

    /// The rows the sample gives, checked with SQL on the synced database.
    /// `link` is the field linking items to their order (`order_id` for `orders`).
    static func expectSynced(_ path: String, prefix: String = "orders", link: String = "order_id") throws {
        #expect(try queryValue("SELECT count(*) FROM \(prefix)", project: path) == "2")
        #expect(try queryValue("SELECT count(*) FROM \(prefix)_items", project: path) == "3")
        #expect(try queryValue("SELECT count(*) FROM \(prefix)_items_taxes", project: path) == "2")
        // Leading zeros kept (text), the float a REAL, the nested member flattened, the date-time in UTC.
        #expect(try queryValue("SELECT zip || '|' || typeof(zip) FROM \(prefix) WHERE id = 'o1'", project: path) == "01234|text")
        #expect(try queryValue("SELECT typeof(total) || '|' || total FROM \(prefix) WHERE id = 'o2'", project: path) == "real|3.0")
        #expect(try queryValue("SELECT customer_email FROM \(prefix) WHERE id = 'o2'", project: path) == "b@x.io")
        #expect(try queryValue("SELECT customer_address_city FROM \(prefix) WHERE id = 'o1'", project: path) == "Berlin")
        #expect(try queryValue("SELECT created_at FROM \(prefix) WHERE id = 'o1'", project: path) == "2024-03-10T15:30:00Z")
        #expect(try queryValue("SELECT zip_code FROM \(prefix) WHERE id = 'o2'", project: path) == "75001")
        #expect(try queryValue("SELECT tags FROM \(prefix) WHERE id = 'o1'", project: path) == #"["a","b"]"#)
        #expect(try queryValue("SELECT price FROM \(prefix)_items WHERE \(link) = 'o1' AND sku = 'S2'", project: path) == "2.50")
        #expect(try queryValue("SELECT group_concat(qty) FROM (SELECT qty FROM \(prefix)_items WHERE sku = 'S1' ORDER BY \(link))", project: path) == "2,5")
        #expect(try queryValue("SELECT amount FROM \(prefix)_items_taxes WHERE \(link) = 'o2' AND item_sku = 'S1'", project: path) == "0.19")
    }

    @Test func aSavedResponseWithoutAJobIsProposedWrittenAndSynced() throws {
        let project = try ProjectDirectory(files: ["sample.json": Self.sample])
        let path = project.url.path
        let arguments = ["infer", "--response", path + "/sample.json", "--records", "$.data", "--worksheet", "orders", "--project", path]

        let shown = try CLI.run(arguments)
        #expect(shown.status == 0, "\(shown.stderr)")
        let out = shown.stdout
        #expect(out.contains("# ==> schema/orders.yml <==\n# Proposed by 'sheetsync infer' from 2 sampled records.\nworksheet: orders\n"), "\(out)")
        #expect(out.contains("# key guessed from the sample ('id' is present in every sampled record and unique in the sample): check it\nkey: [id]\n"), "\(out)")
        for line in ["  number: integer\n", "  total: number\n", "  zip: text\n", "  paid: boolean\n", "  created_at: datetime\n",
                     "  customer_email: text\n", "  tags: json  # an array of values\n", "  note: text  # null in every sampled record: check the type\n",
                     "  zip_code: integer\n", "key: [order_id, sku]\n", "  order_id: text  # links each row to its 'orders' row\n",
                     "  price: decimal\n", "key: [order_id, item_sku, name]\n"] {
            #expect(out.contains(line), "missing \(line)")
        }
        #expect(out.contains("  customer_email: \"$.customer.email\"\n  customer_address_city: \"$.customer.address.city\"\n"), "\(out)")
        #expect(out.contains("  zip_code: \"$['Zip Code']\"\n"), "\(out)")
        #expect(out.contains("  - worksheet: orders_items\n    records: \"$.items\"\n    fields:\n      order_id: \"$parent.id\"\n"), "\(out)")
        #expect(shown.stderr.contains("nothing written; add --write"), "\(shown.stderr)")
        #expect(!FileManager.default.fileExists(atPath: path + "/schema"), "infer without --write wrote files")

        try Self.withSampleServer(project) { url in
            let written = try CLI.run(arguments + ["--write", "--url", url + "/orders"])
            #expect(written.status == 0, "\(written.stdout)\(written.stderr)")
            #expect(written.stdout.contains("wrote schema/orders.yml\nwrote schema/orders_items.yml\nwrote schema/orders_items_taxes.yml\nwrote jobs/orders.yml"), "\(written.stdout)")
            #expect(Self.read(project, "jobs/orders.yml")?.contains("kind: pull\nworksheet: orders\nrequest:\n  url: \"\(url)/orders\"\nrecords: \"$.data\"\n") == true)

            let validate = try CLI.run(["validate", "--project", path])
            #expect(validate.status == 0, "\(validate.stdout)\(validate.stderr)")
            let run = try CLI.run(["run", "orders", "--project", path])
            #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
            #expect(run.stdout.contains("orders: 2 inserted"), "\(run.stdout)")
            try Self.expectSynced(path)
        }

        // Written files are never overwritten: the proposal is shown, each file named, nothing changes.
        let before = Self.read(project, "schema/orders.yml")
        try "# edited by hand\n".write(toFile: path + "/schema/orders.yml", atomically: true, encoding: .utf8)
        let again = try CLI.run(arguments + ["--write", "--url", "http://127.0.0.1:9/orders"])
        #expect(again.status == 1)
        #expect(again.stderr.contains("error: schema/orders.yml already exists; infer never overwrites a file"), "\(again.stderr)")
        #expect(again.stderr.contains("error: jobs/orders.yml already exists"), "\(again.stderr)")
        #expect(again.stderr.contains("Nothing was written."))
        #expect(again.stdout.contains("# ==> schema/orders.yml <=="), "the refused proposal is still shown")
        #expect(Self.read(project, "schema/orders.yml") == "# edited by hand\n")
        #expect(before != nil)
    }

    @Test func aLiveJobNamingANewWorksheetGetsItsSchemaAndMapping() throws {
        let job = """
            # Orders from the sample API (this comment stays)
            kind: pull
            worksheet: shop_orders
            request:
              url: "{{env.API}}/orders"   # the loopback server
            records: "$.data"
            """
        let project = try ProjectDirectory(files: ["sample.json": Self.sample, "jobs/shop.yml": job])
        let path = project.url.path
        try Self.withSampleServer(project) { url in
            let environment = ["API": url]
            // The job does not validate yet: its worksheet has no schema file.
            let invalid = try CLI.run(["validate", "--project", path], environment: environment)
            #expect(invalid.status == 1)
            #expect(invalid.stdout.contains("worksheet 'shop_orders' is not defined"), "\(invalid.stdout)")

            let shown = try CLI.run(["infer", "shop", "--project", path], environment: environment)
            #expect(shown.status == 0, "\(shown.stderr)")
            #expect(shown.stderr.contains("note: sampled GET \(url)/orders"), "\(shown.stderr)")
            #expect(shown.stdout.contains("# ==> schema/shop_orders.yml <==\n"), "\(shown.stdout)")
            #expect(shown.stdout.contains("# ==> jobs/shop.yml: add <==\n"), "\(shown.stdout)")
            #expect(shown.stdout.contains("      shop_order_id: \"$parent.id\"\n"), "\(shown.stdout)")
            #expect(try requestCount(url) == 1)
            #expect(!FileManager.default.fileExists(atPath: path + "/schema"))
            #expect(!FileManager.default.fileExists(atPath: path + "/sheetsync.db"), "infer created the database")

            let written = try CLI.run(["infer", "shop", "--write", "--project", path], environment: environment)
            #expect(written.status == 0, "\(written.stdout)\(written.stderr)")
            #expect(written.stdout.contains("added fields: and children: to jobs/shop.yml"), "\(written.stdout)")
            let text = Self.read(project, "jobs/shop.yml") ?? ""
            #expect(text.hasPrefix(job + "\n\n# fields (and children) proposed by 'sheetsync infer'"), "the job's text and comments are kept: \(text)")
            #expect(text.contains("\nfields:\n  id: \"$.id\"\n"), "\(text)")
            #expect(!text.contains("\nrecords: \"$.data\"\nfields"), "records: is not repeated")

            let validate = try CLI.run(["validate", "--project", path], environment: environment)
            #expect(validate.status == 0, "\(validate.stdout)\(validate.stderr)")
            let run = try CLI.run(["run", "shop", "--project", path], environment: environment)
            #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
            #expect(run.stdout.contains("shop_orders: 2 inserted") && run.stdout.contains("shop_orders_items: 3 inserted"), "\(run.stdout)")
            try Self.expectSynced(path, prefix: "shop_orders", link: "shop_order_id")

            // A job that has its mapping now is never rewritten, and no schema file is touched.
            let again = try CLI.run(["infer", "shop", "--write", "--project", path], environment: environment)
            #expect(again.status == 1)
            #expect(again.stderr.contains("jobs/shop.yml already has 'fields:' and 'children:'; infer never rewrites a job's mapping"), "\(again.stderr)")
            #expect(Self.read(project, "jobs/shop.yml") == text)
        }
    }

    /// A job with a mapping but no schema yet: --write refuses as a whole, even the schema files.
    @Test func aRefusedWriteWritesNothing() throws {
        let project = try ProjectDirectory(files: [
            "sample.json": Self.sample,
            "jobs/mapped.yml": "kind: pull\nworksheet: mapped\nrequest: { url: \"http://127.0.0.1:9/x\" }\nrecords: $.data\nfields: { id: $.id }\n",
        ])
        let path = project.url.path
        let result = try CLI.run(["infer", "mapped", "--response", path + "/sample.json", "--write", "--project", path])
        #expect(result.status == 1)
        #expect(result.stderr.contains("jobs/mapped.yml already has 'fields:'"), "\(result.stderr)")
        #expect(result.stdout.contains("# ==> jobs/mapped.yml: add <==\n"), "the block is printed to copy by hand")
        #expect(!FileManager.default.fileExists(atPath: path + "/schema/mapped.yml"))
    }

    @Test func badInputGetsAClearError() throws {
        let project = try ProjectDirectory(files: [
            "sample.json": Self.sample, "broken.json": #"{"data": [{"id": 1},"#,
            "jobs/push.yml": "kind: push\nworksheet: nothing\nrequest: { url: \"http://127.0.0.1:9/x\" }\n",
            "jobs/down.yml": "kind: pull\nworksheet: nothing\nrequest: { url: \"http://127.0.0.1:9/x\", retry: { attempts: 1 } }\n",
        ])
        let path = project.url.path
        func infer(_ arguments: [String]) throws -> CLIResult { try CLI.run(["infer"] + arguments + ["--project", path]) }

        let missing = try infer(["--response", path + "/nope.json", "--worksheet", "x"])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("Unable to read the saved response '\(path)/nope.json', there is no such file"), "\(missing.stderr)")
        let broken = try infer(["--response", path + "/broken.json", "--worksheet", "x"])
        #expect(broken.status == 1)
        #expect(broken.stderr.contains("it is not JSON"), "\(broken.stderr)")
        let nothing = try infer(["--response", path + "/sample.json", "--worksheet", "x", "--records", "$.rows"])
        #expect(nothing.status == 1)
        #expect(nothing.stderr.contains("records path '$.rows' found nothing (the response is an object with members 'data', 'has_more')"), "\(nothing.stderr)")
        #expect(nothing.stderr.contains("'$.data' (an array of 2 objects)"), "\(nothing.stderr)")
        // The whole response as one record: allowed (a single-object API), with a note.
        let whole = try infer(["--response", path + "/sample.json", "--worksheet", "x"])
        #expect(whole.stderr.contains("note: the records path is '$', so the whole response is one record"), "\(whole.stderr)")
        let badKey = try infer(["--response", path + "/sample.json", "--worksheet", "x", "--records", "$.data", "--key", "numbr"])
        #expect(badKey.status == 1)
        #expect(badKey.stderr.contains("key field 'numbr' is not one of the proposed fields of 'x', did you mean 'number'?"), "\(badKey.stderr)")
        let key = try infer(["--response", path + "/sample.json", "--worksheet", "x", "--records", "$.data", "--key", "number"])
        #expect(key.status == 0 && key.stdout.contains("\nkey: [number]\n") && key.stdout.contains("  x_number: \"$parent.number\"\n"), "\(key.stdout)\(key.stderr)")

        let usage = try infer([])
        #expect(usage.status == 64)
        #expect(usage.stderr.contains("pass --response FILE and --worksheet NAME"), "\(usage.stderr)")
        let badName = try infer(["--response", path + "/sample.json", "--worksheet", "2x"])
        #expect(badName.status == 64)
        let unknown = try infer(["shp"])
        #expect(unknown.status == 1)
        #expect(unknown.stderr.contains("no job 'shp'"), "\(unknown.stderr)")
        let down = try infer(["down"])
        #expect(down.status == 1)
        #expect(down.stderr.contains("Unable to sample job 'down', cannot connect to 127.0.0.1:9"), "\(down.stderr)")
        #expect(down.stderr.contains("or save a response and pass --response FILE"), "\(down.stderr)")
        let push = try infer(["push", "--response", path + "/sample.json"])
        #expect(push.status == 1)
        #expect(push.stderr.contains("'push' is a push job"), "\(push.stderr)")
    }
}
