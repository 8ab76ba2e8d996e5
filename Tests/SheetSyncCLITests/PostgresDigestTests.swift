import Foundation
import Testing

/// `skip_unchanged` on PostgreSQL, by the rule `DigestSkipCLITests` checks on SQLite, with
/// `psql` as the other writer: a row or child row written by anyone else between two syncs
/// is written again by the second; an untouched record is not written at all and captures
/// no push change; a schema change drops every digest and guard.
struct PostgresDigestTests {
    @Test func rowsWrittenByOthersAreWrittenAgainAndUntouchedOnesAreSkipped() throws {
        let server = try TemporaryPostgres.shared()
        let database = try Backend.postgres.freshDatabase()
        let url = try #require(database["SHEETSYNC_DB"])
        let apiFiles = try ProjectDirectory(files: ["orders.json": DigestSkipCLITests.api])
        let (api, apiURL) = try startFixture("file_api.py", [apiFiles.url.path])
        defer { api.stop() }
        let project = try ProjectDirectory(files: DigestSkipCLITests.files)
        let path = project.url.path
        let environment = database.merging(["API": apiURL]) { $1 }
        func value(_ sql: String) throws -> String { try server.psql(url, sql).trimmingCharacters(in: .whitespacesAndNewlines) }
        func sync() throws -> CLIResult {
            let result = try CLI.run(["run", "orders-sync", "--project", path], environment: environment)
            #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
            return result
        }
        func state() throws -> String {
            try value("SELECT string_agg(id || ':' || status, ' ' ORDER BY id) FROM orders") + "\n"
                + value("SELECT string_agg(order_id || sku || qty, ' ' ORDER BY order_id, sku) FROM items")
        }
        func guards() throws -> String {
            try value("SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal AND tgname LIKE '\\_sheetsync\\_digest\\_%'")
        }
        let synced = "o1:new o2:new o3:new o4:new o5:new\no1A1 o2C3 o3D4 o3E5 o4F6 o5G7"

        #expect(try sync().stdout.contains("orders: 5 inserted"))
        #expect(try state() == synced)
        #expect(try value("SELECT count(*) FROM _sheetsync_digests WHERE worksheet = 'orders'") == "5")
        #expect(try value("SELECT count(*) FROM _sheetsync_page_digests") == "1")
        #expect(try guards() == "2", "one on orders, one on items")
        let outbox = try value("SELECT count(*) FROM _sheetsync_outbox")
        let stamps = try value("SELECT string_agg(_updated_at::text, ',' ORDER BY id) FROM orders") + value("SELECT string_agg(_updated_at::text, ',' ORDER BY order_id, sku) FROM items")

        // Nothing changed: nothing written, no change captured for the push job.
        let again = try sync()
        #expect(again.stdout.contains("orders: 0 inserted, 0 updated, 5 unchanged"), "\(again.stdout)")
        #expect(again.stdout.contains("items: 0 inserted, 0 updated, 6 unchanged"), "\(again.stdout)")
        #expect(try value("SELECT count(*) FROM _sheetsync_outbox") == outbox)
        #expect(try value("SELECT string_agg(_updated_at::text, ',' ORDER BY id) FROM orders") + value("SELECT string_agg(_updated_at::text, ',' ORDER BY order_id, sku) FROM items") == stamps)

        // Another writer: a parent edited, a child edited, a child deleted, a child added.
        _ = try value("""
            UPDATE orders SET status = 'edited' WHERE id = 'o1';
            UPDATE items SET qty = 99 WHERE order_id = 'o2';
            DELETE FROM items WHERE order_id = 'o3' AND sku = 'E';
            INSERT INTO items (order_id, sku, qty) VALUES ('o4', 'Z', 1);
            """)
        #expect(try value("SELECT string_agg(key, ',' ORDER BY key) FROM _sheetsync_digests") == #"["o5"]"#)
        // …and with them the page's digest: the page is read record by record.
        #expect(try value("SELECT count(*) FROM _sheetsync_page_digests") == "0")
        let repaired = try sync()
        #expect(try state() == synced, "\(repaired.stdout)")
        #expect(repaired.stdout.contains("orders: 0 inserted, 1 updated, 4 unchanged"), "\(repaired.stdout)")
        #expect(try value("SELECT count(*) FROM _sheetsync_digests") == "5")
        #expect(try value("SELECT count(*) FROM _sheetsync_page_digests") == "1")

        // The skip is real: a write the guards cannot see (in a transaction marked as a pull
        // page's own) is left as it is by the next sync.
        _ = try value("BEGIN; SELECT set_config('sheetsync.writing', 'page', true); UPDATE orders SET status = 'unseen' WHERE id = 'o5'; COMMIT;")
        _ = try sync()
        #expect(try value("SELECT status FROM orders WHERE id = 'o5'") == "unseen")

        // A schema change drops every digest and guard; the next run makes them again.
        try "key: [id]\nfields:\n  id: text\n  status: text\n  note: text\n".write(to: project.url.appendingPathComponent("schema/orders.yml"), atomically: true, encoding: .utf8)
        #expect(try CLI.run(["migrate", "--project", path], environment: environment).status == 0)
        #expect(try value("SELECT count(*) FROM _sheetsync_digests") == "0")
        #expect(try value("SELECT count(*) FROM _sheetsync_page_digests") == "0")
        #expect(try guards() == "0")
        _ = try sync()
        #expect(try value("SELECT status FROM orders WHERE id = 'o5'") == "new")
        #expect(try guards() == "2")

        // A key the guards could not compute alike in every session is refused, with why.
        try "key: [at]\nfields:\n  at: datetime\n  status: text\n".write(to: project.url.appendingPathComponent("schema/events.yml"), atomically: true, encoding: .utf8)
        try DigestSkipCLITests.skippingJob(fields: "at: $.at, status: $.status").replacingOccurrences(of: "worksheet: orders", with: "worksheet: events")
            .write(to: project.url.appendingPathComponent("jobs/events-sync.yml"), atomically: true, encoding: .utf8)
        let refused = try CLI.run(["run", "events-sync", "--project", path], environment: environment)
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("skip_unchanged on PostgreSQL needs a key of text, integer, decimal, boolean or date fields"), "\(refused.stdout)\(refused.stderr)")
    }
}
