import Foundation
import Testing
import SheetSyncCore
@testable import SheetSyncDaemon
import SheetSyncFiles
import SheetSyncStore
import SheetSyncTesting

/// What the status page and /metrics say must be what the database holds now.
struct StatusAndMetricsTests {
    func project() throws -> (Project, WorksheetDatabase, URL) {
        let directory = try temporaryDirectory(files: [
            "schema/items.yml": "key: [id]\nfields:\n  id: text\n",
            "jobs/hourly.yml": "kind: pull\nworksheet: items\nschedule: '@hourly'\nrequest: { url: 'http://127.0.0.1:9/a' }\n",
            "jobs/busy.yml": "kind: pull\nworksheet: items\nschedule: '@every 1s'\nrequest: { url: 'http://127.0.0.1:9/b' }\n",
        ])
        let project = ProjectLoader.load(directory: directory, environment: [:])
        let database = try WorksheetDatabase(path: directory.appendingPathComponent("sheetsync.db").path)
        try database.migrate(project.worksheets)
        return (project, database, directory)
    }

    /// The page read each job's last run among the 500 most recent of all jobs: an hourly job
    /// beside one that runs every second showed "never run".
    @Test func aJobsLastRunIsShownHoweverManyRunsOthersMadeSince() throws {
        let (project, database, directory) = try project()
        defer { try? FileManager.default.removeItem(at: directory) }
        let first = try database.beginRun(job: "hourly", trigger: .schedule)
        try database.finishRun(first, status: .failed, counts: WriteCounts(), requests: 1, errorCode: "connection", errorMessage: "cannot connect")
        for _ in 0..<600 {
            let run = try database.beginRun(job: "busy", trigger: .schedule)
            try database.finishRun(run, status: .succeeded, counts: WriteCounts(), requests: 1)
        }
        let page = StatusPage.render(project: project, database: database, upcoming: [:])
        let row = try #require(page.split(separator: "\n").first { $0.hasPrefix(#"<tr data-job="hourly">"#) })
        #expect(row.contains(#"<span class="status failed">failed</span>"#), "\(row)")
        #expect(row.contains("[connection] cannot connect"), "\(row)")
    }

    /// A gauge read from the database kept its last value once its row was gone (no pending
    /// delivery left: the GROUP BY has no row for it).
    @Test func aGaugeWhoseRowIsGoneReadsZero() throws {
        let (_, database, directory) = try project()
        defer { try? FileManager.default.removeItem(at: directory) }
        _ = try WorksheetDatabase.query(path: database.path, sql: """
            INSERT INTO _sheetsync_deliveries (job, worksheet, record_key, change_id, first_operation, outbox_seq)
            VALUES ('out', 'items', '["a"]', 'chg_1', 'insert', 1)
            """, allowWrite: true)
        let metrics = DaemonMetrics()
        #expect(metrics.exposition(database: database).contains(#"sheetsync_deliveries{job="out",state="pending"} 1"#))
        _ = try WorksheetDatabase.query(path: database.path, sql: "UPDATE _sheetsync_deliveries SET state = 'delivered'", allowWrite: true)
        let text = metrics.exposition(database: database)
        #expect(text.contains(#"sheetsync_deliveries{job="out",state="pending"} 0"#), "\(text)")
        #expect(text.contains(#"sheetsync_deliveries{job="out",state="delivered"} 1"#), "\(text)")
    }
}
