import Foundation
import Testing

/// Issue 17's rule for skipping unchanged records by digest, with the stock `sqlite3` shell
/// as the other writer: a row or child row written by anyone else between two syncs is
/// written again by the second; an untouched record is not written at all and captures no
/// push change. The cases after the first run on both stores (`psql` the other writer on
/// PostgreSQL; `PostgresDigestTests` has the first there).
struct DigestSkipCLITests {
    static let files: [String: String] = [
        "schema/orders.yml": "key: [id]\nfields:\n  id: text\n  status: text\n",
        "schema/items.yml": "key: [order_id, sku]\nfields:\n  order_id: text\n  sku: text\n  qty: integer\n",
        "jobs/orders-sync.yml": skippingJob(fields: "id: $.id, status: $.status", extra: items),
        "jobs/to-crm.yml": """
            kind: push
            worksheet: orders
            request: { url: "http://127.0.0.1:9/hooks" }
            """,
    ]

    static let api = """
        {"data": [
          {"id": "o1", "status": "new", "items": [{"sku": "A", "qty": 1}]},
          {"id": "o2", "status": "new", "items": [{"sku": "C", "qty": 3}]},
          {"id": "o3", "status": "new", "items": [{"sku": "D", "qty": 4}, {"sku": "E", "qty": 5}]},
          {"id": "o4", "status": "new", "items": [{"sku": "F", "qty": 6}]},
          {"id": "o5", "status": "new", "items": [{"sku": "G", "qty": 7}]}
        ]}
        """

    func shell(_ project: ProjectDirectory, _ sql: String) throws -> String {
        let result = try ConcurrentUseTests.sqlite3(project.url.appendingPathComponent("sheetsync.db").path, sql)
        #expect(result.status == 0, "\(result.stderr)")
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func state(_ project: ProjectDirectory) throws -> String {
        try shell(project, """
            SELECT group_concat(id || ':' || status, ' ') FROM (SELECT * FROM orders ORDER BY id);
            SELECT group_concat(order_id || sku || qty, ' ') FROM (SELECT * FROM items ORDER BY order_id, sku);
            """)
    }

    /// The line items of an order, as children of the job.
    static let items = """
        children:
          - worksheet: items
            records: $.items
            fields: { order_id: $parent.id, sku: $.sku, qty: $.qty }

        """

    /// A pull job into `orders` from `{{env.API}}/PATH` that skips unchanged records.
    static func skippingJob(path: String = "orders", fields: String, extra: String = "") -> String {
        """
        kind: pull
        worksheet: orders
        request: { url: "{{env.API}}/\(path)", retry: { attempts: 1 } }
        skip_unchanged: true
        records: $.data
        fields: { \(fields) }

        """ + extra
    }

    /// Runs `orders-sync` on `db`'s database against the API at `url`, expecting `status`.
    func sync(_ db: OtherWriter, api url: String, status: Int32 = 0) throws -> CLIResult {
        let result = try CLI.run(["run", "orders-sync", "--project", db.project.url.path], environment: db.environment.merging(["API": url]) { $1 })
        #expect(result.status == status, "\(result.stdout)\(result.stderr)")
        return result
    }

    @Test func rowsWrittenByOthersAreWrittenAgainAndUntouchedOnesAreSkipped() throws {
        let apiFiles = try ProjectDirectory(files: ["orders.json": Self.api])
        let (server, url) = try startFixture("file_api.py", [apiFiles.url.path])
        defer { server.stop() }
        let project = try ProjectDirectory(files: Self.files)
        let path = project.url.path
        let environment = ["API": url]
        func sync() throws -> CLIResult {
            let result = try CLI.run(["run", "orders-sync", "--project", path], environment: environment)
            #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
            return result
        }
        let synced = "o1:new o2:new o3:new o4:new o5:new\no1A1 o2C3 o3D4 o3E5 o4F6 o5G7"

        #expect(try sync().stdout.contains("orders: 5 inserted"))
        #expect(try state(project) == synced)
        #expect(try shell(project, "SELECT count(*) FROM _sheetsync_digests WHERE worksheet = 'orders'") == "5")
        #expect(try shell(project, "SELECT count(*) FROM _sheetsync_page_digests") == "1")
        let outbox = try shell(project, "SELECT count(*) FROM _sheetsync_outbox")
        let stamps = try shell(project, "SELECT group_concat(_updated_at) FROM orders; SELECT group_concat(_updated_at) FROM items")

        // Nothing changed: nothing written, no change captured for the push job.
        let again = try sync()
        #expect(again.stdout.contains("orders: 0 inserted, 0 updated, 5 unchanged"), "\(again.stdout)")
        #expect(again.stdout.contains("items: 0 inserted, 0 updated, 6 unchanged"), "\(again.stdout)")
        #expect(try shell(project, "SELECT count(*) FROM _sheetsync_outbox") == outbox)
        #expect(try shell(project, "SELECT group_concat(_updated_at) FROM orders; SELECT group_concat(_updated_at) FROM items") == stamps)

        // Another writer: a parent edited, a child edited, a child deleted, a child added.
        _ = try shell(project, """
            UPDATE orders SET status = 'edited' WHERE id = 'o1';
            UPDATE items SET qty = 99 WHERE order_id = 'o2';
            DELETE FROM items WHERE order_id = 'o3' AND sku = 'E';
            INSERT INTO items (order_id, sku, qty) VALUES ('o4', 'Z', 1);
            """)
        #expect(try shell(project, "SELECT group_concat(key) FROM (SELECT key FROM _sheetsync_digests ORDER BY key)") == #"["o5"]"#)
        // …and with them the page's digest: the page is read record by record.
        #expect(try shell(project, "SELECT count(*) FROM _sheetsync_page_digests") == "0")
        let repaired = try sync()
        #expect(try state(project) == synced, "\(repaired.stdout)")
        #expect(repaired.stdout.contains("orders: 0 inserted, 1 updated, 4 unchanged"), "\(repaired.stdout)")
        #expect(try shell(project, "SELECT count(*) FROM _sheetsync_digests") == "5")
        #expect(try shell(project, "SELECT count(*) FROM _sheetsync_page_digests") == "1")

        // The skip is real: a write the guards cannot see (inside a transaction marked as a
        // pull page's own, which sheetsync never commits) is left as it is by the next sync.
        _ = try shell(project, "BEGIN; INSERT INTO _sheetsync_writing VALUES (1); UPDATE orders SET status = 'unseen' WHERE id = 'o5'; DELETE FROM _sheetsync_writing; COMMIT;")
        _ = try sync()
        #expect(try shell(project, "SELECT status FROM orders WHERE id = 'o5'") == "unseen")

        // A schema change drops every digest and guard; the next run makes them again.
        try "key: [id]\nfields:\n  id: text\n  status: text\n  note: text\n".write(to: project.url.appendingPathComponent("schema/orders.yml"), atomically: true, encoding: .utf8)
        #expect(try CLI.run(["migrate", "--project", path], environment: environment).status == 0)
        #expect(try shell(project, "SELECT count(*) FROM _sheetsync_digests") == "0")
        #expect(try shell(project, "SELECT count(*) FROM _sheetsync_page_digests") == "0")
        #expect(try shell(project, "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name LIKE '\\_sheetsync\\_digest\\_%' ESCAPE '\\'") == "0")
        _ = try sync()
        #expect(try shell(project, "SELECT status FROM orders WHERE id = 'o5'") == "new")
        #expect(try shell(project, "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name LIKE '\\_sheetsync\\_digest\\_%' ESCAPE '\\'") == "5", "two on orders, three on items")

        // Off by default: a job without `skip_unchanged` stores no digest.
        try Self.files["jobs/orders-sync.yml"]!.replacingOccurrences(of: "skip_unchanged: true\n", with: "")
            .write(to: project.url.appendingPathComponent("jobs/orders-sync.yml"), atomically: true, encoding: .utf8)
        _ = try shell(project, "DELETE FROM _sheetsync_digests")
        _ = try shell(project, "UPDATE orders SET status = 'edited' WHERE id = 'o1'")
        #expect(try sync().stdout.contains("orders: 0 inserted, 1 updated, 4 unchanged"))
        #expect(try shell(project, "SELECT count(*) FROM _sheetsync_digests") == "0")
    }

    /// A record skipped and a record mapped with the same key in one page are both written,
    /// in order (the later wins, as without skipping); a skipped record still moves the
    /// incremental cursor.
    @Test(arguments: Backend.allCases)
    func theLaterOfTwoRecordsWithOneKeyWinsAndSkippedRecordsMoveTheCursor(backend: Backend) throws {
        let job = Self.skippingJob(fields: "id: $.id, status: $.status, updated: $.updated",
                                   extra: #"incremental: { cursor: $.updated, start: "2024-01-01T00:00:00Z" }"# + "\n")
        let project = try ProjectDirectory(files: ["schema/orders.yml": "key: [id]\nfields:\n  id: text\n  status: text\n  updated: datetime\n",
                                                   "jobs/orders-sync.yml": job])
        let db = try OtherWriter(backend, project: project)
        let apiFiles = try ProjectDirectory(files: ["orders.json": """
            {"data": [{"id": "o1", "status": "first", "updated": "2024-02-01T00:00:00Z"},
                      {"id": "o2", "status": "first", "updated": "2024-03-01T00:00:00Z"}]}
            """])
        let (server, url) = try startFixture("file_api.py", [apiFiles.url.path])
        defer { server.stop() }
        func sync() throws -> CLIResult { try self.sync(db, api: url) }
        func cursor() throws -> String { try db.run("SELECT value FROM _sheetsync_state WHERE job = 'orders-sync' AND name = 'cursor'") }
        _ = try sync()
        #expect(try cursor() == "2024-03-01T00:00:00Z")
        // The cursor forgotten, and o2 written where the guards cannot see it: still
        // 'unseen' after the next sync proves o2 was skipped.
        try db.run("DELETE FROM _sheetsync_state WHERE name = 'cursor'")
        try db.unseen("UPDATE orders SET status = 'unseen' WHERE id = 'o2'")

        // o1 changed, then o1 as stored (whose digest is known), then o2 as stored.
        try """
            {"data": [{"id": "o1", "status": "second", "updated": "2024-02-02T00:00:00Z"},
                      {"id": "o1", "status": "first", "updated": "2024-02-01T00:00:00Z"},
                      {"id": "o2", "status": "first", "updated": "2024-03-01T00:00:00Z"}]}
            """.write(to: apiFiles.url.appendingPathComponent("orders.json"), atomically: true, encoding: .utf8)
        let second = try sync()
        #expect(try db.run("SELECT status FROM orders WHERE id = 'o1'") == "first", "\(second.stdout)")
        #expect(second.stdout.contains("orders: 0 inserted, 2 updated, 1 unchanged"), "\(second.stdout)")
        // o2 was skipped, and its stored cursor value is still the largest.
        #expect(try db.run("SELECT status FROM orders WHERE id = 'o2'") == "unseen")
        #expect(try cursor() == "2024-03-01T00:00:00Z")
    }

    /// The same across the batches of one large page (a body over 2 MiB is read and written
    /// 1,000 records at a time in one transaction): a record skipped in a later batch whose
    /// key an earlier batch wrote is written again, so the later record wins.
    @Test(arguments: Backend.allCases)
    func aLaterBatchOfOnePageSeesTheEarlierBatchesWrites(backend: Backend) throws {
        let job = Self.skippingJob(fields: "id: $.id, status: $.status, pad: $.pad")
        let project = try ProjectDirectory(files: ["schema/orders.yml": "key: [id]\nfields:\n  id: text\n  status: text\n  pad: text\n",
                                                   "jobs/orders-sync.yml": job])
        let db = try OtherWriter(backend, project: project)
        let pad = String(repeating: "p", count: 1600)
        func record(_ id: String, _ status: String) -> String { #"{"id": "\#(id)", "status": "\#(status)", "pad": "\#(pad)"}"# }
        let others = (1..<1500).map { record("o\($0)", "first") }
        func body(_ records: [String]) -> String { #"{"data": ["# + records.joined(separator: ",\n") + "]}" }
        let apiFiles = try ProjectDirectory(files: ["orders.json": body([record("k", "first")] + others)])
        let (server, url) = try startFixture("file_api.py", [apiFiles.url.path])
        defer { server.stop() }
        func sync() throws -> CLIResult { try self.sync(db, api: url) }
        #expect(try sync().stdout.contains("orders: 1500 inserted"))
        // k changed in the first batch, then k as stored (its digest known) in the second.
        try body([record("k", "second")] + others[..<1200] + [record("k", "first")] + others[1200...])
            .write(to: apiFiles.url.appendingPathComponent("orders.json"), atomically: true, encoding: .utf8)
        let second = try sync()
        #expect(try db.run("SELECT status FROM orders WHERE id = 'k'") == "first", "\(second.stdout)")
        #expect(second.stdout.contains("orders: 0 inserted, 2 updated, 1499 unchanged"), "\(second.stdout)")
    }

    /// Whole pages: a page whose records are all as it left them is stored whole and not read
    /// next time; a changed record, a record another page wrote, another writer's edit or a
    /// rejected record each keep a page from being skipped whole, and the rows always end up
    /// as the API sent them.
    @Test(arguments: Backend.allCases)
    func aPageIsSkippedWholeOnlyWhileEveryRecordOfItIsAsItLeftIt(backend: Backend) throws {
        let job = Self.skippingJob(path: "page1", fields: "id: $.id, status: $.status",
                                   extra: "paginate: { style: next_url, next: $.next }\n" + Self.items)
        let project = try ProjectDirectory(files: ["schema/orders.yml": Self.files["schema/orders.yml"]!, "schema/items.yml": Self.files["schema/items.yml"]!,
                                                   "jobs/orders-sync.yml": job])
        let db = try OtherWriter(backend, project: project)
        let apiFiles = try ProjectDirectory(files: [:])
        let (server, url) = try startFixture("file_api.py", [apiFiles.url.path])
        defer { server.stop() }
        func order(_ id: String, _ status: String, qty: String = "1") -> String { #"{"id": "\#(id)", "status": "\#(status)", "items": [{"sku": "A", "qty": \#(qty)}]}"# }
        func serve(_ first: [String], _ second: [String]) throws {
            try #"{"data": [\#(first.joined(separator: ", "))], "next": "\#(url)/page2"}"#
                .write(to: apiFiles.url.appendingPathComponent("page1.json"), atomically: true, encoding: .utf8)
            try #"{"data": [\#(second.joined(separator: ", "))]}"#
                .write(to: apiFiles.url.appendingPathComponent("page2.json"), atomically: true, encoding: .utf8)
        }
        func sync(status: Int32 = 0) throws -> String { try self.sync(db, api: url, status: status).stdout }
        func pages() throws -> String { try db.run("SELECT count(*) FROM _sheetsync_page_digests") }
        func orders() throws -> String { try db.joined("SELECT id || ':' || status FROM orders ORDER BY id") }

        try serve([order("o1", "new"), order("o2", "new")], [order("o3", "new"), order("o4", "new")])
        #expect(try sync().contains("orders: 4 inserted"))
        #expect(try pages() == "2")
        #expect(try db.run("SELECT count(*) FROM _sheetsync_digests WHERE page IS NULL") == "0")
        #expect(try db.run("SELECT count(DISTINCT page) FROM _sheetsync_digests") == "2")

        // Unchanged: both pages skipped whole, nothing written; a write no guard sees stays.
        try db.unseen("UPDATE orders SET status = 'unseen' WHERE id = 'o3'")
        let unchanged = try sync()
        #expect(unchanged.contains("orders: 0 inserted, 0 updated, 4 unchanged"), "\(unchanged)")
        #expect(unchanged.contains("items: 0 inserted, 0 updated, 4 unchanged"), "\(unchanged)")
        #expect(try orders() == "o1:new o2:new o3:unseen o4:new")
        try db.run("UPDATE orders SET status = 'edited' WHERE id = 'o3'")
        #expect(try pages() == "1", "the edit dropped page 2's digest")
        #expect(try sync().contains("orders: 0 inserted, 1 updated, 3 unchanged"))
        #expect(try orders() == "o1:new o2:new o3:new o4:new")
        #expect(try pages() == "2")

        // A changed record: its page is written record by record and not stored whole (o4
        // still names the old page); the next sync of the same bytes confirms it whole.
        try serve([order("o1", "new"), order("o2", "new")], [order("o3", "paid"), order("o4", "new")])
        #expect(try sync().contains("orders: 0 inserted, 1 updated, 3 unchanged"))
        #expect(try pages() == "1")
        #expect(try sync().contains("orders: 0 inserted, 0 updated, 4 unchanged"))
        #expect(try pages() == "2")
        #expect(try db.run("SELECT count(DISTINCT page) FROM _sheetsync_digests") == "2")

        // o2 moves to page 2 with other values: page 1's digest goes (its o2 is no longer as
        // page 1 made it), and o2 ends as page 2 says.
        try serve([order("o1", "new")], [order("o2", "moved"), order("o3", "paid"), order("o4", "new")])
        #expect(try sync().contains("orders: 0 inserted, 1 updated, 3 unchanged"))
        #expect(try orders() == "o1:new o2:moved o3:paid o4:new")
        #expect(try sync().contains("orders: 0 inserted, 0 updated, 4 unchanged"))
        #expect(try pages() == "2")
        // The same key twice in a page: never stored whole; the later record wins.
        try serve([order("o1", "new")], [order("o2", "first"), order("o2", "second"), order("o3", "paid"), order("o4", "new")])
        _ = try sync()
        _ = try sync()
        #expect(try pages() == "1")
        #expect(try orders() == "o1:new o2:second o3:paid o4:new")

        // A record with a rejected child row: its page is never stored whole, and the
        // record is written on every sync.
        try serve([order("o1", "new"), order("o5", "new", qty: #""lots""#)], [order("o2", "moved"), order("o3", "paid"), order("o4", "new")])
        #expect(try sync(status: 2).contains("orders: 1 inserted, 1 updated, 3 unchanged"))
        #expect(try sync(status: 2).contains("orders: 0 inserted, 0 updated, 5 unchanged"))
        // Stored: page 2, and the earlier page 1 that held o1 alone (still true of o1), not
        // this page 1 of two records.
        #expect(try db.joined("SELECT records FROM _sheetsync_page_digests ORDER BY records", separator: ",") == "1,3")
        #expect(try db.run("SELECT count(*) FROM _sheetsync_rejects WHERE worksheet = 'items'") == "2")

        // Page digests written by another tool are a hint, never trusted: values of other
        // types (SQLite keeps what it is given; PostgreSQL's columns take values of their
        // type only) and an outline that is not JSON neither stop the run nor change a row,
        // and the page served is stored again as it is.
        switch backend {
        case .sqlite: try db.run("UPDATE _sheetsync_page_digests SET records = 'many', cursor = 5, child_rows = x'00', outline = 'not json'")
        case .postgres: try db.run("UPDATE _sheetsync_page_digests SET records = -7, cursor = '{', child_rows = 'not json', outline = 'not json'")
        }
        #expect(try sync(status: 2).contains("orders: 0 inserted, 0 updated, 5 unchanged"))
        #expect(try orders() == "o1:new o2:moved o3:paid o4:new o5:new")
        let valid = backend == .sqlite ? "json_valid(outline)" : "CASE WHEN outline = 'not json' THEN false ELSE (outline::jsonb) IS NOT NULL END"
        #expect(try db.run("SELECT count(*) FROM _sheetsync_page_digests WHERE records = 3 AND \(valid)") == "1")
    }

    /// Records are found by key, whatever the key holds (quotes, backslashes, non-ASCII,
    /// numbers written as text, integers, two columns): the key as the page stores it and
    /// as the reader and the page's transaction look it up is the same text.
    @Test(arguments: Backend.allCases, [("key: [id]", "id: text"), ("key: [id]", "id: integer"), ("key: [region, id]", "id: text")])
    func recordsAreSkippedWhateverTheirKeyHolds(backend: Backend, key: (String, String)) throws {
        let (key, idType) = key
        let job = Self.skippingJob(fields: "region: $.region, id: $.id, status: $.status")
        let project = try ProjectDirectory(files: ["schema/orders.yml": "\(key)\nfields:\n  region: text\n  \(idType)\n  status: text\n",
                                                   "jobs/orders-sync.yml": job])
        let db = try OtherWriter(backend, project: project)
        let ids = idType == "id: integer" ? ["1", "22", "-3"] : [#""o\"1\\x""#, #""é ü 😀""#, #""007""#]
        let records = ids.enumerated().map { #"{"region": "eu", "id": \#($0.element), "status": "s\#($0.offset)"}"# }
        let apiFiles = try ProjectDirectory(files: ["orders.json": #"{"data": [\#(records.joined(separator: ", "))]}"#])
        let (server, url) = try startFixture("file_api.py", [apiFiles.url.path])
        defer { server.stop() }
        func sync() throws -> String { try self.sync(db, api: url).stdout }
        #expect(try sync().contains("orders: 3 inserted"))
        // Page digests off the table (dropping them leaves the records' digests): the next
        // syncs go record by record.
        try db.run("DELETE FROM _sheetsync_page_digests")
        // Written where no guard sees it: still there after the next sync proves every record was skipped.
        try db.unseen("UPDATE orders SET status = 'unseen'")
        #expect(try sync().contains("orders: 0 inserted, 0 updated, 3 unchanged"))
        #expect(try db.joined("SELECT status FROM orders", separator: ",") == "unseen,unseen,unseen")
        // An edit the guards see: that record alone is written again.
        let first = idType == "id: integer" ? "1" : #"'o"1\x'"#
        try db.run("DELETE FROM _sheetsync_page_digests; UPDATE orders SET status = 'edited' WHERE id = \(first)")
        #expect(try sync().contains("orders: 0 inserted, 1 updated, 2 unchanged"))
        #expect(try db.run("SELECT status FROM orders WHERE id = \(first)") == "s0")
        #expect(try db.run("SELECT count(*) FROM orders WHERE status = 'unseen'") == "2")
    }
}

/// SQL on a test's worksheet database as another program runs it: the stock `sqlite3`
/// shell on the project's file, or `psql` on a PostgreSQL database of the test's own.
struct OtherWriter {
    let backend: Backend
    let project: ProjectDirectory
    /// What sheetsync's commands need to open the same database.
    let environment: [String: String]

    init(_ backend: Backend, project: ProjectDirectory) throws {
        self.backend = backend
        self.project = project
        environment = try backend.freshDatabase()
    }

    /// Runs `sql` (one statement or several); what it printed, trimmed.
    @discardableResult
    func run(_ sql: String) throws -> String {
        switch backend {
        case .sqlite:
            let result = try ConcurrentUseTests.sqlite3(project.url.appendingPathComponent("sheetsync.db").path, sql)
            #expect(result.status == 0, "\(result.stderr)")
            return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        case .postgres:
            let url = try #require(environment["SHEETSYNC_DB"])
            return try TemporaryPostgres.shared().psql(url, sql).trimmingCharacters(in: .whitespacesAndNewlines)
        }
    }

    /// A query's rows (one column each) joined by `separator`: `group_concat` is SQLite's,
    /// `string_agg` PostgreSQL's (and SQLite's only from 3.44).
    func joined(_ sql: String, separator: String = " ") throws -> String {
        try run(sql).split(separator: "\n", omittingEmptySubsequences: false).joined(separator: separator)
    }

    /// `statements` in a transaction marked as a pull page's own, which the digest guards
    /// do not see and which sheetsync never commits outside a page: a row written so and
    /// still there after the next sync proves that sync skipped its record.
    func unseen(_ statements: String) throws {
        switch backend {
        case .sqlite: try run("BEGIN; INSERT INTO _sheetsync_writing VALUES (1); \(statements); DELETE FROM _sheetsync_writing; COMMIT;")
        case .postgres: try run("BEGIN; SELECT set_config('sheetsync.writing', 'page', true); \(statements); COMMIT;")
        }
    }
}
