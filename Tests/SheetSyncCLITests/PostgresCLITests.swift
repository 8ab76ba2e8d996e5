import Foundation
import Testing

/// The PostgreSQL store through the real binary (issue 19): a throwaway server
/// (`TemporaryPostgres`), the demo shop on loopback, and `psql` as an independent reader.
struct PostgresCLITests {
    /// Every type of the shop's orders schema, and line items as children.
    static let job = """
        kind: pull
        worksheet: orders
        request:
          url: "{{env.SHOP_URL}}/v1/orders"
          headers: { Authorization: "Bearer {{secret.SHOP_TOKEN}}" }
        paginate: { style: page, size_param: per_page, size: 7, has_more: $.has_more }
        records: $.data
        fields:
          id: $.id
          number: $.number
          status: $.status
          total: $.amount.value
          currency: $.amount.currency
          paid: $.paid
          customer_id: $.customer.id
          created_at: $.created_at
          updated_at: $.updated_at
          shipping_address: $.shipping_address
        children:
          - worksheet: order_items
            records: $.items
            fields: { order_id: $parent.id, sku: $.sku, quantity: $.quantity, unit_price: $.unit_price }
        """

    func project(job: String = Self.job) throws -> ProjectDirectory {
        var files: [String: String] = ["jobs/orders.yml": job]
        for name in try FileManager.default.contentsOfDirectory(atPath: CrashRecoveryTests.schema.path) {
            files["schema/\(name)"] = try String(contentsOf: CrashRecoveryTests.schema.appendingPathComponent(name), encoding: .utf8)
        }
        return try ProjectDirectory(files: files)
    }

    func rows(_ path: String, _ environment: [String: String], _ sql: String) throws -> String {
        let result = try CLI.run(["query", sql, "--format", "csv", "--project", path], environment: environment)
        #expect(result.status == 0, "\(sql): \(result.stderr)")
        return result.stdout
    }

    @Test func aPullRunWritesTypedColumnsAndTheSameRowsAsSQLite() throws {
        let (shop, url) = try CrashRecoveryTests().startShop()
        defer { shop.terminate(); shop.waitUntilExit() }
        let shopEnvironment = ["SHOP_URL": url, "SHOP_TOKEN": "demo-token"]
        let server = try TemporaryPostgres.shared()
        let database = try Backend.postgres.freshDatabase()
        let databaseURL = try #require(database["SHEETSYNC_DB"])
        let environment = shopEnvironment.merging(database) { $1 }

        let sqlite = try project()
        let postgres = try project()
        let onSQLite = try CLI.run(["run", "orders", "--project", sqlite.url.path], environment: shopEnvironment)
        let onPostgres = try CLI.run(["run", "orders", "--project", postgres.url.path], environment: environment)
        #expect(onSQLite.status == 0, "\(onSQLite.stdout)\(onSQLite.stderr)")
        #expect(onPostgres.status == 0, "\(onPostgres.stdout)\(onPostgres.stderr)")
        // The same counts ("40 inserted …"), the run number aside.
        func counts(_ text: String) -> String {
            String(text.split(separator: ",", maxSplits: 3).dropFirst(3).joined().split(separator: "(").first ?? "")
        }
        #expect(counts(onPostgres.stdout) == counts(onSQLite.stdout), "\(onPostgres.stdout) vs \(onSQLite.stdout)")
        #expect(onPostgres.stdout.contains("orders: 40 inserted"), "\(onPostgres.stdout)")

        // Typed columns, as an independent client sees them.
        let types = try server.psql(databaseURL, """
            SELECT column_name || ' ' || data_type FROM information_schema.columns
            WHERE table_name = 'orders' AND column_name IN ('number', 'total', 'paid', 'created_at', 'shipping_address', '_updated_at') ORDER BY column_name
            """)
        #expect(types == """
            _updated_at timestamp with time zone
            created_at timestamp with time zone
            number bigint
            paid boolean
            shipping_address jsonb
            total numeric

            """)
        // Every value as SQLite holds it (text forms compared through each store's own query).
        let ordersSQL = "SELECT id, number, status, total, currency, customer_id, created_at, updated_at FROM orders ORDER BY id"
        let itemsSQL = "SELECT order_id, sku, quantity, unit_price FROM order_items ORDER BY order_id, sku"
        #expect(try rows(postgres.url.path, environment, ordersSQL) == rows(sqlite.url.path, [:], ordersSQL))
        #expect(try rows(postgres.url.path, environment, itemsSQL) == rows(sqlite.url.path, [:], itemsSQL))
        // Booleans and JSON as their types: true where SQLite holds 1, objects with members.
        let typed = try server.psql(databaseURL, "SELECT count(*) FILTER (WHERE paid) || '|' || count(*) FILTER (WHERE shipping_address ? 'city') FROM orders")
        let asSQLite = try rows(sqlite.url.path, [:], "SELECT count(*) FILTER (WHERE paid = 1) || '|' || count(*) FILTER (WHERE json_extract(shipping_address, '$.city') IS NOT NULL) AS c FROM orders")
        #expect(typed == asSQLite.replacingOccurrences(of: "c\r\n", with: "").replacingOccurrences(of: "\r\n", with: "\n"), "\(typed) vs \(asSQLite)")
        #expect(typed != "0|0\n")

        // Nothing changed upstream: no row is written again.
        let before = try server.psql(databaseURL, "SELECT max(_updated_at), count(*) FROM orders")
        let again = try CLI.run(["run", "orders", "--project", postgres.url.path], environment: environment)
        #expect(again.status == 0, "\(again.stdout)\(again.stderr)")
        #expect(again.stdout.contains("orders: 0 inserted, 0 updated, 40 unchanged"), "\(again.stdout)")
        #expect(again.stdout.contains("order_items: 0 inserted, 0 updated,"), "\(again.stdout)")
        #expect(try server.psql(databaseURL, "SELECT max(_updated_at), count(*) FROM orders") == before)

        // A row changed by another client is written back, and only that row; an item the
        // API no longer lists goes (child replacement).
        _ = try server.psql(databaseURL, "UPDATE orders SET status = 'edited' WHERE id = 'ord_00003'")
        _ = try server.psql(databaseURL, "INSERT INTO order_items (order_id, sku, quantity) VALUES ('ord_00003', 'SKU-GONE', 1)")
        let repair = try CLI.run(["run", "orders", "--project", postgres.url.path], environment: environment)
        #expect(repair.stdout.contains("orders: 0 inserted, 1 updated, 39 unchanged"), "\(repair.stdout)")
        #expect(try server.psql(databaseURL, "SELECT count(*) FROM order_items WHERE sku = 'SKU-GONE'") == "0\n")
        #expect(try rows(postgres.url.path, environment, ordersSQL) == rows(sqlite.url.path, [:], ordersSQL))
        let history = try CLI.run(["history", "--project", postgres.url.path, "--json"], environment: environment)
        #expect(history.status == 0)
        #expect(history.stdout.contains("\"deleted\": 1") || history.stdout.contains("\"deleted\":1"), "\(history.stdout)")
    }

    @Test func thePasswordComesFromASecretAndIsNeverShownOrKept() throws {
        let server = try TemporaryPostgres.shared()
        let database = try Backend.postgres.freshDatabase()
        let databaseURL = try #require(database["SHEETSYNC_DB"])
        let project = try project()
        let path = project.url.path

        // A literal password is refused before anything connects.
        let literal = databaseURL.replacingOccurrences(of: "{{secret.PG_PASSWORD}}", with: TemporaryPostgres.password)
        let refused = try CLI.run(["migrate", "--project", path, "--db", literal])
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("holds a password"), "\(refused.stderr)")
        #expect(!refused.stderr.contains(TemporaryPostgres.password))

        // The secret not set: says which.
        let unset = try CLI.run(["migrate", "--project", path], environment: ["SHEETSYNC_DB": databaseURL])
        #expect(unset.status != 0)
        #expect(unset.stderr.contains("secret 'PG_PASSWORD'"), "\(unset.stderr)")

        // A wrong password: the server's reason, no password.
        let wrong = try CLI.run(["migrate", "--project", path], environment: ["SHEETSYNC_DB": databaseURL, "PG_PASSWORD": "not-it"])
        #expect(wrong.status != 0)
        #expect(wrong.stderr.contains("password authentication failed"), "\(wrong.stderr)")
        #expect(!wrong.stderr.contains("not-it"))

        // PGPASSWORD works as libpq's does, without a secret in the URL.
        let bare = databaseURL.replacingOccurrences(of: ":{{secret.PG_PASSWORD}}", with: "")
        let migrated = try CLI.run(["migrate", "--project", path], environment: ["SHEETSYNC_DB": bare, "PGPASSWORD": TemporaryPostgres.password])
        #expect(migrated.status == 0, "\(migrated.stderr)")
        #expect(migrated.stdout.contains("create worksheet 'orders'"), "\(migrated.stdout)")
        #expect(!migrated.stdout.contains(TemporaryPostgres.password))

        // Nothing sheetsync keeps holds it.
        let kept = try server.psql(databaseURL, """
            SELECT string_agg(t::text, ' ') FROM (SELECT * FROM _sheetsync_schema_changes) t
            """)
        #expect(!kept.contains(TemporaryPostgres.password))
    }

    @Test func queryIsReadOnlyUnlessToldAndStatusAndPruneWork() throws {
        let server = try TemporaryPostgres.shared()
        let database = try Backend.postgres.freshDatabase()
        let databaseURL = try #require(database["SHEETSYNC_DB"])
        let project = try project()
        let path = project.url.path
        #expect(try CLI.run(["migrate", "--project", path], environment: database).status == 0)
        _ = try server.psql(databaseURL, "INSERT INTO orders (id, status) VALUES ('a', 'new')")

        let refused = try CLI.run(["query", "DELETE FROM orders", "--project", path], environment: database)
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("Add --write"), "\(refused.stderr)")
        #expect(try server.psql(databaseURL, "SELECT count(*) FROM orders") == "1\n")
        // One statement at a time: a second one cannot end the read-only transaction.
        let smuggled = try CLI.run(["query", "COMMIT; DELETE FROM orders", "--project", path], environment: database)
        #expect(smuggled.status != 0)
        #expect(try server.psql(databaseURL, "SELECT count(*) FROM orders") == "1\n")
        // A query that finds nothing is still a query: "(0 rows)", not "0 row(s) changed".
        let none = try CLI.run(["query", "SELECT id FROM orders WHERE false", "--project", path], environment: database)
        #expect(none.status == 0, "\(none.stderr)")
        #expect(none.stderr.contains("(0 rows)") && !none.stderr.contains("changed"), "\(none.stderr)")
        let allowed = try CLI.run(["query", "DELETE FROM orders", "--write", "--project", path], environment: database)
        #expect(allowed.status == 0, "\(allowed.stderr)")
        #expect(allowed.stderr.contains("1 row(s) changed"), "\(allowed.stderr)")
        #expect(try server.psql(databaseURL, "SELECT count(*) FROM orders") == "0\n")

        // `status` and `prune` work on PostgreSQL too (the nodes: ClusterTests).
        let status = try CLI.run(["status", "--project", path], environment: database)
        #expect(status.status == 0 && status.stdout.contains("last status"), "\(status.stdout)\(status.stderr)")
        #expect(status.stderr.contains("no daemon (node) is running"), "\(status.stderr)")
        let prune = try CLI.run(["prune", "--dry-run", "--project", path], environment: database)
        #expect(prune.status == 0 && prune.stdout.contains("runs: 0 to remove"), "\(prune.stdout)\(prune.stderr)")
        for result in [status, prune] { #expect(!(result.stdout + result.stderr).contains(TemporaryPostgres.password)) }
    }

    /// As `ConcurrentUseTests.readersSeeOnlyCommittedPagesAndNeverFail`, on PostgreSQL:
    /// `psql` and `sheetsync query` read while a sync of 3,000 orders in pages of 100 runs;
    /// every read sees whole pages, never an order without its items, and none fails.
    @Test func readersSeeOnlyCommittedPages() async throws {
        let orders = ConcurrentUseTests.orders, pageSize = ConcurrentUseTests.pageSize
        let uses = ConcurrentUseTests()
        let (shop, url) = try await uses.startShop(orders: orders)
        defer { shop.terminate() }
        let server = try TemporaryPostgres.shared()
        let database = try Backend.postgres.freshDatabase()
        let databaseURL = try #require(database["SHEETSYNC_DB"])
        // Pages 150 ms apart: the run lasts seconds, so the readers see it midway.
        let project = try uses.project(job: ConcurrentUseTests.job(pageSize: pageSize, delay: "150ms"))
        let path = project.url.path
        let environment = ["SHOP_URL": url, "SHOP_TOKEN": "demo-token"].merging(database) { $1 }
        #expect(try CLI.run(["migrate", "--project", path], environment: environment).status == 0)

        let run = Process()
        run.executableURL = CLI.binary
        run.arguments = ["run", "orders", "--project", path]
        run.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let output = Pipe()
        run.standardOutput = output
        run.standardError = output
        try run.run()
        let sql = "SELECT (SELECT count(*) FROM orders) || ',' || (SELECT count(DISTINCT order_id) FROM order_items)"
        let collected = Collected()
        let group = DispatchGroup()
        nonisolated(unsafe) let running = run
        for index in 0..<4 {
            group.enter()
            DispatchQueue.global().async {
                defer { group.leave() }
                var first = true
                while running.isRunning || first {
                    first = false
                    let result: CLIResult
                    do {
                        if index % 2 == 0 {
                            result = CLIResult(status: 0, stdout: try server.psql(databaseURL, sql), stderr: "")
                        } else {
                            let query = try CLI.run(["query", sql, "--format", "csv", "--project", path], environment: environment)
                            let value = csvValue(query.stdout).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
                            result = CLIResult(status: query.status, stdout: value, stderr: query.stderr)
                        }
                    } catch {
                        result = CLIResult(status: -1, stdout: "", stderr: "\(error)")
                    }
                    collected.append(result)
                    usleep(20_000)
                }
            }
        }
        await offPool { running.waitUntilExit() }
        let runOutput = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(run.terminationStatus == 0, "\(runOutput)")
        #expect(runOutput.contains("orders: \(orders) inserted"), "\(runOutput)")
        await offPool { group.wait() }
        var reads = 0
        for result in collected.all {
            reads += 1
            #expect(result.status == 0, "a reader failed: \(result.stderr)")
            let counts = result.stdout.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ",").compactMap { Int($0) }
            #expect(counts.count == 2, "\(result.stdout)")
            if counts.count == 2 {
                #expect(counts[0] % pageSize == 0 || counts[0] == orders, "a reader saw \(counts[0]) orders: part of a page")
                #expect(counts[0] == counts[1], "a reader saw \(counts[0]) orders but items of \(counts[1])")
            }
        }
        #expect(reads >= 8, "only \(reads) reads happened during the run")
        print("concurrent readers on PostgreSQL: \(reads) reads during the sync")
        #expect(try server.psql(databaseURL, "SELECT count(*) FROM orders") == "\(orders)\n")
    }

    /// Three levels of children, replaced per parent, on both stores: a line item the API
    /// drops takes its tax lines and their parts along; both stores end with the same rows
    /// and print the same counts.
    @Test func nestedChildrenAreReplacedAlikeOnBothStores() throws {
        let first = """
            {"data": [
              {"ref": "A", "status": "new", "lines": [
                {"no": 1, "sku": "X", "taxes": [
                  {"name": "vat", "amount": "1.90", "parts": [{"id": "state", "amount": "1.25"}, {"id": "city", "amount": "0.65"}]},
                  {"name": "eco", "amount": "0.1", "parts": []}]},
                {"no": 2, "sku": "Y", "taxes": [{"name": "vat", "amount": "2", "parts": [{"id": "p", "amount": "2"}]}]}]},
              {"ref": "B", "status": "new", "lines": [{"no": 1, "sku": "Z", "taxes": [{"name": "vat", "amount": "3", "parts": [{"id": "q", "amount": "3"}]}]}]}
            ]}
            """
        let second = """
            {"data": [
              {"ref": "A", "status": "paid", "lines": [
                {"no": 1, "sku": "X", "taxes": [{"name": "vat", "amount": "1.90", "parts": [{"id": "state", "amount": "1.25"}]}]}]},
              {"ref": "B", "status": "new", "lines": [{"no": 1, "sku": "Z", "taxes": [{"name": "vat", "amount": "3", "parts": [{"id": "q", "amount": "3"}]}]}]}
            ]}
            """
        let job = """
            kind: pull
            worksheet: shop_orders
            request: { url: "{{env.API}}/orders" }
            records: $.data
            fields: { id: $.ref, status: $.status }
            children:
              - worksheet: line_items
                records: $.lines
                fields: { order_id: $parent.id, line_no: $.no, sku: $.sku }
                children:
                  - worksheet: tax_lines
                    records: $.taxes
                    fields: { order_id: $parent.order_id, line_no: $parent.line_no, tax: $.name, amount: $.amount }
                    children:
                      - worksheet: tax_parts
                        records: $.parts
                        fields: { order_id: $parent.order_id, line_no: $parent.line_no, tax: $parent.tax, part: $.id, amount: $.amount }
            """
        var files: [String: String] = ["jobs/orders.yml": job]
        for (path, text) in NestedChildrenSchemas.files { files[path] = text }
        let sql = [
            "SELECT order_id || '/' || line_no || '/' || sku AS r FROM line_items ORDER BY 1",
            "SELECT order_id || '/' || line_no || '/' || tax || '/' || amount AS r FROM tax_lines ORDER BY 1",
            "SELECT order_id || '/' || line_no || '/' || tax || '/' || part || '/' || amount AS r FROM tax_parts ORDER BY 1",
        ]
        var outcomes: [Backend: (summaries: [String], tables: [String])] = [:]
        for backend in Backend.allCases {
            let apiFiles = try ProjectDirectory(files: ["orders.json": first])
            let (server, url) = try startFixture("file_api.py", [apiFiles.url.path])
            defer { server.stop() }
            let project = try ProjectDirectory(files: files)
            let environment = ["API": url].merging(try backend.freshDatabase()) { $1 }
            var summaries: [String] = []
            for body in [first, second] {
                try body.write(to: apiFiles.url.appendingPathComponent("orders.json"), atomically: true, encoding: .utf8)
                let run = try CLI.run(["run", "orders", "--project", project.url.path], environment: environment)
                #expect(run.status == 0, "\(backend): \(run.stdout)\(run.stderr)")
                // The summary without its duration and run number.
                summaries.append(run.stdout.replacingOccurrences(of: #"in [0-9.]+s"#, with: "", options: .regularExpression)
                    .replacingOccurrences(of: #"\(run [0-9]+\)"#, with: "", options: .regularExpression))
            }
            let tables = try sql.map { try rows(project.url.path, environment, $0) }
            outcomes[backend] = (summaries, tables)
            #expect(tables == ["r\r\nA/1/X\r\nB/1/Z\n",
                               "r\r\nA/1/vat/1.90\r\nB/1/vat/3\n",
                               "r\r\nA/1/vat/state/1.25\r\nB/1/vat/q/3\n"], "\(backend): \(tables)")
        }
        #expect(outcomes[.postgres]?.summaries == outcomes[.sqlite]?.summaries)
        #expect(outcomes[.postgres]?.tables == outcomes[.sqlite]?.tables)
    }
}

extension PostgresCLITests {
    /// Data from outside that PostgreSQL cannot store (the NUL character, in text or in
    /// JSON) rejects its record — with its children — instead of failing the page every
    /// run; the other records are written.
    @Test func aNulCharacterRejectsItsRecordNotThePage() throws {
        let body = #"{"data": [{"ref": "A", "status": "bad\u0000status", "lines": [{"no": 1, "sku": "X"}]}, {"ref": "B", "status": " NULL \"q\" \\ {a,b} ", "lines": [{"no": 1, "sku": "Z"}]}, {"ref": "C", "status": "new", "lines": [{"no": 1, "sku": "bad\u0000sku"}, {"no": 2, "sku": "W"}]}]}"#
        let apiFiles = try ProjectDirectory(files: ["orders.json": body])
        let (server, url) = try startFixture("file_api.py", [apiFiles.url.path])
        defer { server.stop() }
        var files = NestedChildrenSchemas.files
        files["jobs/orders.yml"] = """
            kind: pull
            worksheet: shop_orders
            request: { url: "{{env.API}}/orders" }
            records: $.data
            fields: { id: $.ref, status: $.status }
            children:
              - worksheet: line_items
                records: $.lines
                fields: { order_id: $parent.id, line_no: $.no, sku: $.sku }
            """
        let project = try ProjectDirectory(files: files)
        let database = try Backend.postgres.freshDatabase()
        let environment = ["API": url].merging(database) { $1 }
        let run = try CLI.run(["run", "orders", "--project", project.url.path], environment: environment)
        #expect(run.status == 2, "\(run.stdout)\(run.stderr)")
        #expect(try rows(project.url.path, environment, "SELECT id AS r FROM shop_orders ORDER BY 1") == "r\r\nB\r\nC\n")
        #expect(try rows(project.url.path, environment, "SELECT order_id || '/' || sku AS r FROM line_items ORDER BY 1") == "r\r\nB/Z\r\nC/W\n")
        // Text that means something in an array literal (the rows go as arrays) arrives as sent.
        let statuses = try TemporaryPostgres.shared().psql(try #require(database["SHEETSYNC_DB"]), "SELECT '[' || status || ']' FROM shop_orders ORDER BY id")
        #expect(statuses == "[ NULL \"q\" \\ {a,b} ]\n[new]\n", "\(statuses)")
        let rejects = try rows(project.url.path, environment, "SELECT worksheet || ': ' || reason AS r FROM _sheetsync_rejects ORDER BY id")
        #expect(rejects.contains("shop_orders: field 'status' holds the NUL character"), "\(rejects)")
        #expect(rejects.contains("line_items: field 'sku' holds the NUL character"), "\(rejects)")
        // A second run does the same, no worse: the page is not stuck.
        let again = try CLI.run(["run", "orders", "--project", project.url.path], environment: environment)
        #expect(again.status == 2, "\(again.stdout)\(again.stderr)")
        #expect(again.stdout.contains("shop_orders: 0 inserted, 0 updated, 2 unchanged"), "\(again.stdout)")
    }
}

extension PostgresCLITests {
    /// TLS to the server as libpq's `sslmode`s promise: `require` encrypts, `verify-full`
    /// refuses a certificate that is not trusted or not for the host it connects to,
    /// `verify-ca` checks the issuer only; `require` against a server without TLS fails.
    @Test func sslModesEncryptAndCheckTheCertificateAsLibpqDoes() throws {
        let directory = "/tmp/sheetsync-pg-\(getpid())-tls-\(UUID().uuidString.prefix(4))"
        // A certificate for localhost only (not for 127.0.0.1).
        let started = try CLI.run([TemporaryPostgres.script, "start", directory, TemporaryPostgres.password, "--tls=DNS:localhost"],
                                  executable: URL(fileURLWithPath: "/bin/bash"))
        try #require(started.status == 0, "\(started.stderr)")
        defer { _ = try? CLI.run([TemporaryPostgres.script, "stop", directory], executable: URL(fileURLWithPath: "/bin/bash")) }
        let port = started.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let certificate = directory + "/server.crt"
        let project = try project()
        func query(host: String, port: String, _ parameters: String) throws -> CLIResult {
            let url = "postgres://sheetsync:{{secret.PG_PASSWORD}}@\(host):\(port)/sheetsync?\(parameters)"
            return try CLI.run(["query", "SELECT ssl::text AS s FROM pg_stat_ssl WHERE pid = pg_backend_pid()", "--format", "csv",
                                "--project", project.url.path, "--db", url], environment: ["PG_PASSWORD": TemporaryPostgres.password])
        }
        let required = try query(host: "127.0.0.1", port: port, "sslmode=require")
        #expect(required.status == 0 && required.stdout == "s\r\ntrue\n", "\(required.stdout)\(required.stderr)")
        let verified = try query(host: "localhost", port: port, "sslmode=verify-full&sslrootcert=\(certificate)")
        #expect(verified.status == 0 && verified.stdout == "s\r\ntrue\n", "\(verified.stdout)\(verified.stderr)")
        let issuerOnly = try query(host: "127.0.0.1", port: port, "sslmode=verify-ca&sslrootcert=\(certificate)")
        #expect(issuerOnly.status == 0 && issuerOnly.stdout == "s\r\ntrue\n", "\(issuerOnly.stdout)\(issuerOnly.stderr)")

        let wrongHost = try query(host: "127.0.0.1", port: port, "sslmode=verify-full&sslrootcert=\(certificate)")
        #expect(wrongHost.status != 0)
        #expect(wrongHost.stderr.contains("failedToValidateHostname"), "\(wrongHost.stderr)")
        let untrusted = try query(host: "localhost", port: port, "sslmode=verify-full")
        #expect(untrusted.status != 0)
        #expect(untrusted.stderr.contains("CERTIFICATE_VERIFY_FAILED"), "\(untrusted.stderr)")
        for failure in [wrongHost, untrusted] { #expect(!failure.stderr.contains(TemporaryPostgres.password)) }

        // The shared test server has no TLS: `require` must not fall back to plain text.
        let plain = try TemporaryPostgres.shared()
        let refused = try query(host: "127.0.0.1", port: String(plain.port), "sslmode=require")
        #expect(refused.status != 0, "\(refused.stdout)")
        let preferred = try query(host: "127.0.0.1", port: String(plain.port), "sslmode=prefer")
        #expect(preferred.status == 0 && preferred.stdout == "s\r\nfalse\n", "\(preferred.stdout)\(preferred.stderr)")
    }
}

enum NestedChildrenSchemas {
    static let files: [String: String] = [
        "schema/shop_orders.yml": "worksheet: shop_orders\nkey: [id]\nfields:\n  id: text\n  status: text\n",
        "schema/line_items.yml": "worksheet: line_items\nkey: [order_id, line_no]\nfields:\n  order_id: text\n  line_no: integer\n  sku: text\n",
        "schema/tax_lines.yml": "worksheet: tax_lines\nkey: [order_id, line_no, tax]\nfields:\n  order_id: text\n  line_no: integer\n  tax: text\n  amount: decimal\n",
        "schema/tax_parts.yml": "worksheet: tax_parts\nkey: [order_id, line_no, tax, part]\nfields:\n  order_id: text\n  line_no: integer\n  tax: text\n  part: text\n  amount: decimal\n",
    ]
}
