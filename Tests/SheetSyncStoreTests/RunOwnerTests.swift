import Foundation
import GRDB
import Testing
@testable import SheetSyncStore

/// Issue 15, item 3: a run whose process is gone is marked `interrupted` by the next process
/// that opens the database; a live owner keeps it `running`, and a reused pid is not taken
/// for the owner.
struct RunOwnerTests {
    @Test func runsOfProcessesThatAreGoneAreMarkedInterruptedWhenTheDatabaseOpens() throws {
        let file = TemporaryDatabase()
        let database = try WorksheetDatabase(path: file.path)
        let mine = try database.beginRun(job: "mine", trigger: .cli)
        let me = RunOwner.current
        let parts = me.token.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        try #require(parts.count == 3 && !parts[2].isEmpty, "no process identity: \(me.token)")
        let owners: [(job: String, pid: Int32, token: String)] = [
            ("reused-pid", me.pid, "\(parts[0])/\(parts[1])/\(parts[2])1"),          // this pid, another start time
            ("no-process", 2_000_000_000, "\(parts[0])/\(parts[1])/12345"),           // nothing has this pid
            ("rebooted", me.pid, "\(parts[0])/00000000-0000-0000-0000-000000000000/\(parts[2])"),
            ("other-host", 2_000_000_000, "another-host.example/\(parts[1])/12345"), // not ours to judge
            ("parent", getppid(), "\(parts[0])/\(parts[1])/\(RunOwner.startTicks(of: getppid()) ?? "")"),  // alive
        ]
        try database.write { db in
            for owner in owners {
                try db.execute(sql: """
                    INSERT INTO _sheetsync_runs (job, trigger, started_at, status, owner_pid, owner)
                    VALUES (?, 'schedule', '2026-01-01T00:00:00.000Z', 'running', ?, ?)
                    """, arguments: [owner.job, owner.pid, owner.token])
            }
        }
        let reopened = try WorksheetDatabase(path: file.path)
        let statuses = Dictionary(uniqueKeysWithValues: try reopened.runs(limit: 10).map { ($0.job, $0) })
        #expect(statuses["mine"]?.status == "running")
        #expect(statuses["mine"]?.id == mine)
        #expect(statuses["parent"]?.status == "running")
        #expect(statuses["other-host"]?.status == "running")
        for job in ["reused-pid", "no-process", "rebooted"] {
            let run = try #require(statuses[job])
            #expect(run.status == "interrupted", "\(job)")
            #expect(run.errorCode == "interrupted")
            #expect(run.endedAt != nil)
            #expect(run.errorMessage?.contains("noticed at 20") == true, "\(run.errorMessage ?? "")")
            #expect(run.errorMessage?.contains("by pid \(me.pid)") == true)
        }
        // Finishing a run later still records how it ended.
        try reopened.finishRun(mine, status: .succeeded, counts: WriteCounts(), requests: 0)
        #expect(try reopened.runs(job: "mine").first?.status == "succeeded")
    }

    @Test func runsLeftRunningByAnEarlierVersionAreMarkedByTheMigration() throws {
        let file = TemporaryDatabase()
        let database = try WorksheetDatabase(path: file.path)
        try database.write { db in
            try db.execute(sql: "DELETE FROM _sheetsync_migrations WHERE version = 7")
            try db.execute(sql: "DROP INDEX _sheetsync_runs_running")
            try db.execute(sql: "ALTER TABLE _sheetsync_runs DROP COLUMN owner")
            try db.execute(sql: "ALTER TABLE _sheetsync_runs DROP COLUMN owner_pid")
            try db.execute(sql: "INSERT INTO _sheetsync_runs (job, trigger, started_at, status) VALUES ('old', 'cli', '2025-01-01T00:00:00.000Z', 'running')")
        }
        try database.close()
        let upgraded = try WorksheetDatabase(path: file.path)
        let run = try #require(try upgraded.runs(job: "old").first)
        #expect(run.status == "interrupted")
        #expect(run.errorMessage?.contains("upgraded") == true)
    }
}
