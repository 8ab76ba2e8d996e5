import Foundation
import Testing

/// Checkpoints run beside the writer (`WALCheckpointer`), not at commit: once a run ends the
/// write-ahead log must still be copied into the database file and removed, so that the file
/// alone (a user's `cp`, a backup tool that ignores `-wal`) holds every row.
struct WALCheckpointTests {
    @Test func afterARunTheFileAloneHoldsEveryRow() throws {
        let records = (1...3000).map { #"{"id": "r\#($0)", "note": "\#(String(repeating: "x", count: 200))"}"# }
        let apiFiles = try ProjectDirectory(files: ["rows.json": #"{"data": ["# + records.joined(separator: ",") + "]}"])
        let (server, url) = try startFixture("file_api.py", [apiFiles.url.path])
        defer { server.stop() }
        let project = try ProjectDirectory(files: [
            "schema/rows.yml": "key: [id]\nfields:\n  id: text\n  note: text\n",
            "jobs/rows-sync.yml": """
                kind: pull
                worksheet: rows
                request: { url: "{{env.API}}/rows" }
                records: $.data
                fields: { id: $.id, note: $.note }
                """,
        ])
        let result = try CLI.run(["run", "rows-sync", "--project", project.url.path], environment: ["API": url])
        #expect(result.status == 0 && result.stdout.contains("3000 inserted"), "\(result.stdout)\(result.stderr)")
        let database = project.url.appendingPathComponent("sheetsync.db")
        #expect(!FileManager.default.fileExists(atPath: database.path + "-wal"), "the log is left beside the file")
        // The file alone, copied where no log is: every row is in it.
        let elsewhere = try ProjectDirectory(files: [:])
        let copy = elsewhere.url.appendingPathComponent("copy.db")
        try FileManager.default.copyItem(at: database, to: copy)
        let count = try ConcurrentUseTests.sqlite3(copy.path, "SELECT count(*) FROM rows;")
        #expect(count.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "3000", "\(count.stderr)")
    }

    /// A daemon that ran nothing (an hourly job, stopped within seconds) still wrote its
    /// bookkeeping; stopping it must leave no log holding those writes: a pool's readers are
    /// read-only, and when one of them closed last SQLite could not empty the log.
    @Test func aStoppedDaemonLeavesNoLogBehind() throws {
        let project = try ProjectDirectory(files: [
            "schema/rows.yml": "key: [id]\nfields:\n  id: text\n",
            "jobs/rows-sync.yml": "kind: pull\nworksheet: rows\nschedule: '@hourly'\nrequest: { url: 'http://127.0.0.1:9/rows' }\n",
        ])
        let (serve, lines) = try ServeTests().startServe(project.url.path, environment: [:])
        _ = try ServeTests().endpoint(lines)
        Thread.sleep(forTimeInterval: 0.5)
        serve.terminate()
        serve.waitUntilExit()
        #expect(serve.terminationStatus == 0, "\(lines.all.suffix(1000))")
        let log = project.url.appendingPathComponent("sheetsync.db-wal").path
        let size = (try? FileManager.default.attributesOfItem(atPath: log)[.size] as? Int) ?? 0
        #expect(size == 0, "the stopped daemon left \(size) bytes in sheetsync.db-wal")
    }
}
