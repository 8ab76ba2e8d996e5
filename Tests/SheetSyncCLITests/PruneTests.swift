import Foundation
import Testing

/// Issue 15, item 9: `retention:` in sheetsync.yml, applied by `sheetsync prune` and by the
/// daemon; undelivered deliveries and the latest run of each job are never removed.
struct PruneTests {
    static let old = "'2020-01-01T00:00:00.000Z'"
    static let now = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"

    /// Old and recent rows in every ledger; the comments say what default retention does.
    static let seed = """
        INSERT INTO _sheetsync_runs (id, job, trigger, started_at, ended_at, status) VALUES
            (1, 'a', 'cli', \(old), \(old), 'succeeded'),        -- old: removed
            (2, 'a', 'cli', \(old), \(old), 'failed'),           -- old, but the latest of 'a': kept
            (3, 'b', 'cli', \(old), \(old), 'succeeded'),        -- old: removed
            (4, 'b', 'cli', \(now), \(now), 'succeeded');        -- recent: kept
        INSERT INTO _sheetsync_requests (run_id, method, url, sent_at) VALUES
            (1, 'GET', 'http://x/1', \(now)),                   -- its run goes: removed with it
            (2, 'GET', 'http://x/2', \(old)),                   -- old: removed
            (2, 'GET', 'http://x/3', \(now)),                   -- kept
            (4, 'GET', 'http://x/4', \(now));                   -- kept
        INSERT INTO _sheetsync_rejects (job, run_id, worksheet, reason, raw, rejected_at) VALUES
            ('a', 1, 'orders', 'old', '{}', \(old)),             -- removed
            ('a', 2, 'orders', 'new', '{}', \(now));             -- kept
        INSERT INTO _sheetsync_step_failures (run_id, job, step, record_key, error, failed_at) VALUES
            (2, 'a', 's', '[1]', 'old', \(old)),                 -- removed
            (4, 'b', 's', '[1]', 'new', \(now));                 -- kept
        INSERT INTO _sheetsync_deliveries (job, worksheet, record_key, change_id, first_operation, outbox_seq, state, created_at, delivered_at) VALUES
            ('p', 'orders', '[1]', 'chg_1', 'insert', 1, 'delivered', \(old), \(old)),   -- removed
            ('p', 'orders', '[2]', 'chg_2', 'insert', 2, 'skipped', \(old), NULL),       -- removed
            ('p', 'orders', '[3]', 'chg_3', 'insert', 3, 'pending', \(old), NULL),       -- undelivered: kept
            ('p', 'orders', '[4]', 'chg_4', 'insert', 4, 'failed', \(old), NULL),        -- undelivered: kept
            ('p', 'orders', '[5]', 'chg_5', 'insert', 5, 'delivered', \(now), \(now));   -- recent: kept
        INSERT INTO _sheetsync_notifications (notification_id, job, event, payload, state, created_at, next_attempt_at) VALUES
            ('ntf_1', 'o', 'failure', '{}', 'delivered', \(old), \(old)),                   -- removed
            ('ntf_2', 'o', 'failure', '{}', 'failed', \(old), \(old)),                      -- removed
            ('ntf_3', 'o', 'recovery', '{}', 'pending', \(old), '2999-01-01T00:00:00Z'),   -- waiting for its retry: kept
            ('ntf_4', 'o', 'recovery', '{}', 'delivered', \(now), \(now));                  -- recent: kept
        """

    static let counts = """
        SELECT (SELECT group_concat(id) FROM (SELECT id FROM _sheetsync_runs ORDER BY id)) || ' | ' ||
               (SELECT group_concat(url) FROM (SELECT url FROM _sheetsync_requests ORDER BY id)) || ' | ' ||
               (SELECT group_concat(reason) FROM _sheetsync_rejects) || ' | ' ||
               (SELECT group_concat(error) FROM _sheetsync_step_failures) || ' | ' ||
               (SELECT group_concat(change_id) FROM (SELECT change_id FROM _sheetsync_deliveries ORDER BY id)) || ' | ' ||
               (SELECT group_concat(notification_id) FROM (SELECT notification_id FROM _sheetsync_notifications ORDER BY id)) AS ledgers
        """

    func seeded(settings: String? = nil) throws -> ProjectDirectory {
        var files = ProjectDirectory.orders
        if let settings { files["sheetsync.yml"] = settings }
        let project = try ProjectDirectory(files: files)
        #expect(try CLI.run(["migrate", "--project", project.url.path]).status == 0)
        let insert = try CLI.run(["query", "--write", Self.seed, "--project", project.url.path])
        #expect(insert.status == 0, "\(insert.stderr)")
        return project
    }

    @Test func pruneRemovesWhatRetentionSaysAndPrintsIt() throws {
        let project = try seeded()
        let path = project.url.path
        let all = "1,2,3,4 | http://x/1,http://x/2,http://x/3,http://x/4 | old,new | old,new | chg_1,chg_2,chg_3,chg_4,chg_5 | ntf_1,ntf_2,ntf_3,ntf_4"
        #expect(try queryValue(Self.counts, project: path) == all)

        let dry = try CLI.run(["prune", "--dry-run", "--project", path])
        #expect(dry.status == 0, "\(dry.stdout)\(dry.stderr)")
        for line in ["runs: 2 ", "requests: 2 ", "rejects: 1 ", "step_failures: 1 ", "deliveries: 2 ", "notifications: 2 "] {
            #expect(dry.stdout.contains(line), "missing '\(line)' in:\n\(dry.stdout)")
        }
        #expect(dry.stderr.contains("nothing was removed"), "\(dry.stderr)")
        #expect(try queryValue(Self.counts, project: path) == all, "--dry-run removed something")

        let prune = try CLI.run(["prune", "--project", path])
        #expect(prune.status == 0, "\(prune.stdout)\(prune.stderr)")
        #expect(prune.stdout.contains("runs: 2 removed"), "\(prune.stdout)")
        #expect(try queryValue(Self.counts, project: path) == "2,4 | http://x/3,http://x/4 | new | new | chg_3,chg_4,chg_5 | ntf_3,ntf_4")

        // Nothing left to remove.
        let again = try CLI.run(["prune", "--project", path])
        #expect(again.stdout.contains("runs: 0 removed"), "\(again.stdout)")
        #expect(try queryValue(Self.counts, project: path) == "2,4 | http://x/3,http://x/4 | new | new | chg_3,chg_4,chg_5 | ntf_3,ntf_4")
    }

    @Test func retentionIsReadFromSheetsyncYml() throws {
        // 'forever' keeps runs; the requests of runs that stay then stay too unless old.
        let project = try seeded(settings: "retention:\n  runs: forever\n  deliveries: 30000d\n")
        let path = project.url.path
        let prune = try CLI.run(["prune", "--project", path])
        #expect(prune.status == 0, "\(prune.stdout)\(prune.stderr)")
        #expect(try queryValue(Self.counts, project: path) == "1,2,3,4 | http://x/1,http://x/3,http://x/4 | new | new | chg_1,chg_2,chg_3,chg_4,chg_5 | ntf_3,ntf_4")
    }

    @Test func badRetentionIsReportedAtItsPosition() throws {
        let project = try ProjectDirectory(files: ProjectDirectory.orders.merging([
            "sheetsync.yml": "retention:\n  runs: soon\n  reqests: 30d\n",
        ]) { $1 })
        let validate = try CLI.run(["validate", "--project", project.url.path])
        #expect(validate.status == 1)
        #expect(validate.stdout.contains("sheetsync.yml:2:9: error:"), "\(validate.stdout)")
        #expect(validate.stdout.contains("'retention.runs'"), "\(validate.stdout)")
        #expect(validate.stdout.contains("sheetsync.yml:3:3: error: unknown key 'reqests' in 'retention', did you mean 'requests'?"), "\(validate.stdout)")
    }

    @Test func theDaemonAppliesRetention() throws {
        let project = try seeded()
        let path = project.url.path
        let serve = try ChildProcess(["serve", "--http", "off", "--project", path])
        defer { serve.stop() }
        let pruned = try eventually(within: 60) {
            try queryValue(Self.counts, project: path) == "2,4 | http://x/3,http://x/4 | new | new | chg_3,chg_4,chg_5 | ntf_3,ntf_4"
        }
        let left = try queryValue(Self.counts, project: path)
        #expect(pruned, "the daemon did not prune: \(left)\n\(serve.stderr.suffix(2000))")
        serve.signal(SIGTERM)
        #expect(serve.waitForExit(seconds: 30))
        #expect(serve.exitStatus == 0, "\(serve.stderr.suffix(2000))")
    }
}
