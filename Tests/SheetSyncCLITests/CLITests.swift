import Foundation
import Testing

/// The real binary, as a user runs it.
struct CLITests {
    @Test func validateReportsEveryProblemOfThreeBrokenFiles() throws {
        var files = ProjectDirectory.orders
        files["jobs/one.yml"] = "kind: pull\nworksheet: orderz\nrequest: { url: 'http://x' }\n"
        files["jobs/two.yml"] = "kind: pull\nworksheet: orders\nrequest:\n  url: http://x\n  timeout: fast\nfields: { id: $.id, totl: $.total }\n"
        files["schema/three.yml"] = "key: [id]\nfields:\n  id: txt\n"
        let project = try ProjectDirectory(files: files)
        let result = try CLI.run(["validate", "--project", project.url.path])
        #expect(result.status == 1)
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines == [
            "jobs/one.yml:2:12: error: worksheet 'orderz' is not defined in schema/, did you mean 'orders'?",
            "jobs/two.yml:5:12: error: invalid duration 'fast': expected a number at 'fast'; expected forms like '10s', '500ms', '5m', '1h30m' for 'request.timeout'",
            "jobs/two.yml:6:21: error: field 'totl' is not in worksheet 'orders', did you mean 'total'?",
            "schema/three.yml:3:7: error: unknown type 'txt' for field 'id', did you mean 'text'? (types: text, integer, number, decimal, boolean, date, datetime, json)",
            "4 errors in 3 files",
        ])
    }

    @Test func validateSucceedsOnTheRepositoryExamples() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let result = try CLI.run(["validate", "--project", root.path], environment: ["SHOP_TOKEN": "x"])
        #expect(result.status == 0, "\(result.stdout)")
        #expect(result.stdout.hasPrefix("ok: "))
    }

    @Test func badUsageExits64WithUsage() throws {
        let result = try CLI.run(["query"])
        #expect(result.status == 64)
        #expect(result.stderr.contains("Usage: sheetsync query"))
        let unknown = try CLI.run(["frobnicate"])
        #expect(unknown.status == 64)
    }

    @Test func migrateWarnsThatABrokenPushJobCapturesNothing() throws {
        var files = ProjectDirectory.orders
        files["jobs/to-erp.yml"] = "kind: push\nworksheet: orders\nrequest:\n  url: \"{{env.SHEETSYNC_TEST_UNSET_URL}}/orders/{{record.id}}\"\n"
        let project = try ProjectDirectory(files: files)
        let migrate = try CLI.run(["migrate", "--project", project.url.path])
        #expect(migrate.status == 0, "\(migrate.stderr)")
        #expect(migrate.stderr.contains("warning: jobs/to-erp.yml has errors; a push job there gets no change capture"), "\(migrate.stderr)")
        // And with the job fixed, no warning.
        let fixed = try CLI.run(["migrate", "--project", project.url.path], environment: ["SHEETSYNC_TEST_UNSET_URL": "http://127.0.0.1:9"])
        #expect(fixed.status == 0, "\(fixed.stderr)")
        #expect(!fixed.stderr.contains("no change capture"), "\(fixed.stderr)")
    }

    @Test func migrateThenQueryInThreeFormats() throws {
        let project = try ProjectDirectory(files: ProjectDirectory.orders)
        let dryRun = try CLI.run(["migrate", "--dry-run", "--project", project.url.path])
        #expect(dryRun.status == 0)
        #expect(dryRun.stdout.contains("CREATE TABLE \"orders\""))
        // A dry run changes nothing, not even by creating the database file.
        #expect(!FileManager.default.fileExists(atPath: project.url.appendingPathComponent("sheetsync.db").path))

        let migrate = try CLI.run(["migrate", "--project", project.url.path])
        #expect(migrate.status == 0, "\(migrate.stderr)")
        #expect(migrate.stdout.contains("- create worksheet 'orders'"))

        let insert = try CLI.run(["query", "--write", "--project", project.url.path,
                                  "INSERT INTO orders (id, status, total) VALUES ('a', 'paid', '12.50'), ('b', 'new, \"rush\"', NULL)"])
        #expect(insert.status == 0, "\(insert.stderr)")

        let sql = "SELECT id, status, total FROM orders ORDER BY id"
        let table = try CLI.run(["query", sql, "--project", project.url.path])
        #expect(table.stdout == """
            id  status       total
            --  -----------  -----
            a   paid         12.50
            b   new, "rush"  NULL

            """)
        let csv = try CLI.run(["query", sql, "--format", "csv", "--project", project.url.path])
        #expect(csv.stdout == "id,status,total\r\na,paid,12.50\r\nb,\"new, \"\"rush\"\"\",\n")
        let json = try CLI.run(["query", sql, "--format", "json", "--project", project.url.path])
        #expect(json.stdout == #"[{"id":"a","status":"paid","total":"12.50"},{"id":"b","status":"new, \"rush\"","total":null}]"# + "\n")
    }

    @Test func queryRefusesWritesWithoutTheFlag() throws {
        let project = try ProjectDirectory(files: ProjectDirectory.orders)
        _ = try CLI.run(["migrate", "--project", project.url.path])
        let result = try CLI.run(["query", "DELETE FROM orders", "--project", project.url.path])
        #expect(result.status == 1)
        #expect(result.stderr.contains("Refusing to run 'DELETE FROM orders': it writes to the database. Add --write to allow it."))
    }

    @Test func destructiveMigrationNeedsTheFlag() throws {
        let project = try ProjectDirectory(files: ProjectDirectory.orders)
        _ = try CLI.run(["migrate", "--project", project.url.path])
        _ = try CLI.run(["query", "--write", "--project", project.url.path, "INSERT INTO orders (id, status, total) VALUES ('a', 'paid', '1')"])
        try "key: [id]\nfields:\n  id: text\n  total: decimal\n".write(to: project.url.appendingPathComponent("schema/orders.yml"), atomically: true, encoding: .utf8)
        let refused = try CLI.run(["migrate", "--project", project.url.path])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("remove field 'status' from 'orders'"))
        #expect(refused.stderr.contains("--allow-destructive"))
        let allowed = try CLI.run(["migrate", "--allow-destructive", "--project", project.url.path])
        #expect(allowed.status == 0)
        let rows = try CLI.run(["query", "SELECT id, total FROM orders", "--format", "csv", "--project", project.url.path])
        #expect(rows.stdout == "id,total\r\na,1\n")
    }

    @Test func dbFlagAndEnvironmentChooseTheFile() throws {
        let project = try ProjectDirectory(files: ProjectDirectory.orders)
        let custom = project.url.appendingPathComponent("custom.db").path
        _ = try CLI.run(["migrate", "--project", project.url.path, "--db", custom])
        #expect(FileManager.default.fileExists(atPath: custom))
        let viaEnvironment = try CLI.run(["query", "SELECT count(*) AS n FROM orders", "--format", "json", "--project", project.url.path],
                                         environment: ["SHEETSYNC_DB": custom])
        #expect(viaEnvironment.stdout == #"[{"n":0}]"# + "\n")
        let missing = try CLI.run(["query", "SELECT 1", "--project", project.url.path])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("does not exist. Run 'sheetsync migrate'"))
    }

    @Test func jobsListsNameKindWorksheetSchedule() throws {
        var files = ProjectDirectory.orders
        files["jobs/pull-orders.yml"] = "kind: pull\nworksheet: orders\nschedule: '@hourly'\nrequest: { url: 'http://x' }\n"
        let project = try ProjectDirectory(files: files)
        let result = try CLI.run(["jobs", "--project", project.url.path])
        #expect(result.stdout == "name         kind  worksheet  schedule\n-----------  ----  ---------  --------\npull-orders  pull  orders     @hourly\n")
        let json = try CLI.run(["jobs", "--json", "--project", project.url.path])
        #expect(json.stdout == #"[{"name":"pull-orders","kind":"pull","worksheet":"orders","schedule":"@hourly","file":"jobs/pull-orders.yml"}]"# + "\n")
    }

    /// Issue 18: `database: data/shop.db` (the README's own example) works in a fresh
    /// clone, where `data/` does not exist yet.
    @Test func theDatabaseDirectoryIsCreated() throws {
        var files = ProjectDirectory.orders
        files["sheetsync.yml"] = "database: data/nested/shop.db\n"
        let project = try ProjectDirectory(files: files)
        let result = try CLI.run(["migrate", "--project", project.url.path])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(FileManager.default.fileExists(atPath: project.url.path + "/data/nested/shop.db"))
    }

    /// Issue 18: `status` shows the jobs of a project that never ran without creating a
    /// database as a side effect.
    @Test func statusDoesNotCreateTheDatabase() throws {
        var files = ProjectDirectory.orders
        files["jobs/orders.yml"] = "kind: pull\nworksheet: orders\nschedule: \"@hourly\"\nrequest: { url: \"http://127.0.0.1:9/orders\" }\n"
        let project = try ProjectDirectory(files: files)
        let result = try CLI.run(["status", "--project", project.url.path])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("orders") && result.stdout.contains("@hourly"), "\(result.stdout)")
        #expect(result.stderr.contains("no database yet"), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: project.url.path + "/sheetsync.db"))
    }

    /// Issue 18: a --param the job does not use is refused, with the one it may have meant.
    @Test func anUnknownParamIsRefused() throws {
        var files = ProjectDirectory.orders
        files["jobs/orders.yml"] = "kind: pull\nworksheet: orders\nrequest: { url: \"http://127.0.0.1:9/orders?status={{param.status}}\" }\nparams: { limit: \"10\" }\n"
        let project = try ProjectDirectory(files: files)
        for command in ["run", "test"] {
            let result = try CLI.run([command, "orders", "--param", "stauts=paid", "--project", project.url.path])
            #expect(result.status == 1, "\(result.stdout)\(result.stderr)")
            #expect(result.stderr.contains("job 'orders' uses no parameter 'stauts'") && result.stderr.contains("did you mean 'status'")
                    && result.stderr.contains("its parameters: limit, status"), "\(result.stderr)")
        }
    }
}
