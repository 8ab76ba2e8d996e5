import Foundation
import Testing

/// A daemon on PostgreSQL whose connections are ended under it (a server restart, a
/// network drop, an administrator's `pg_terminate_backend`) connects again: the next run
/// succeeds, the node heartbeats again, changes are still captured and delivered.
struct PostgresReconnectTests {
    @Test func serveConnectsAgainAfterItsConnectionsAreEnded() throws {
        let (shop, shopURL) = try CrashRecoveryTests().startShop()
        defer { shop.terminate(); shop.waitUntilExit() }
        let server = try TemporaryPostgres.shared()
        let database = try Backend.postgres.freshDatabase()
        let url = try #require(database["SHEETSYNC_DB"])
        let env = database.merging(["SHOP_URL": shopURL, "SHOP_TOKEN": "demo-token", "ERP_URL": shopURL]) { $1 }
        let project = try ProjectDirectory(files: [
            "schema/fast.yml": "worksheet: fast\nkey: [id]\nfields:\n  id: text\n  status: text\n",
            "jobs/fast.yml": """
                kind: pull
                worksheet: fast
                schedule: "@every 1s"
                request:
                  url: "{{env.SHOP_URL}}/v1/orders"
                  headers: { Authorization: "Bearer {{secret.SHOP_TOKEN}}" }
                records: $.data
                fields: { id: $.id, status: $.status }
                """,
            "schema/purchase_requests.yml": try String(contentsOf: DemoAndRunTests.root.appendingPathComponent("schema/purchase_requests.yml"), encoding: .utf8),
            "jobs/to-erp.yml": PushCLITests.job,
        ])
        let path = project.url.path
        #expect(try CLI.run(["migrate", "--project", path], environment: env).status == 0)
        func value(_ sql: String) throws -> String { try server.psql(url, sql).trimmingCharacters(in: .whitespacesAndNewlines) }
        let serve = ServeTests()
        let (node, lines) = try serve.startServe(path, environment: env)
        defer { stopGently(node) }
        let running = try eventually(within: 20, every: 0.2) { (Int(try value("SELECT count(*) FROM _sheetsync_runs WHERE job = 'fast' AND status = 'succeeded'")) ?? 0) > 0 }
        try #require(running, "\(lines.all)")

        // Every connection of the node ends (its main one, its coordination and LISTEN ones).
        // This test's database only: other tests' daemons share the server.
        let ended = try value("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = 'sheetsync' AND datname = current_database()")
        #expect((Int(ended) ?? 0) >= 3, "connections ended: \(ended)")
        let endedAt = try value("SELECT now()")

        let ranAgain = try eventually(within: 15, every: 0.2) {
            (Int(try value("SELECT count(*) FROM _sheetsync_runs WHERE job = 'fast' AND status = 'succeeded' AND started_at > '\(endedAt)'")) ?? 0) > 0
        }
        #expect(ranAgain, "no run succeeded after the connections were ended: \(lines.all)")
        let beating = try eventually(within: 15, every: 0.2) { try value("SELECT count(*) FROM _sheetsync_nodes WHERE heartbeat_at > '\(endedAt)'") == "1" }
        #expect(beating, "the node did not heartbeat again")
        _ = try value("INSERT INTO purchase_requests (id, title, status) VALUES ('after', 'Desk', 'approved')")
        let delivered = try eventually(within: 15, every: 0.2) {
            try PushCLITests().received(shopURL).contains { $0.path == "/hooks/purchase-requests/after" }
        }
        #expect(delivered, "the change made after the reconnect was not delivered: \(lines.all)")
        #expect(node.isRunning)
    }
}
