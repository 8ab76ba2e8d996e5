import Foundation
import Testing
@testable import SheetSyncCore
@testable import SheetSyncStore

/// The database file itself: who may read it, and a file sheetsync must not touch.
struct DatabaseFileTests {
    func mode(_ path: String) throws -> Int {
        (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber)?.intValue ?? -1
    }

    @Test func aNewDatabaseIsReadableByItsOwnerOnly() throws {
        let file = TemporaryDatabase()
        let previous = umask(0o022)
        defer { umask(previous) }
        let database = try WorksheetDatabase(path: file.path)
        try database.migrate([WorksheetDefinition(name: "orders", key: ["id"], fields: [.init(name: "id", type: .text)])])
        _ = try database.upsert(RowBatch(columns: ["id"], rows: [[.text("a")]]), into: .init(name: "orders", key: ["id"], fields: [.init(name: "id", type: .text)]), source: "t")
        #expect(try mode(file.path) == 0o600)
        #expect(try mode(file.path + "-wal") == 0o600)
    }

    @Test func anExistingFileKeepsItsMode() throws {
        let file = TemporaryDatabase()
        #expect(FileManager.default.createFile(atPath: file.path, contents: nil, attributes: [.posixPermissions: 0o640]))
        _ = try WorksheetDatabase(path: file.path)
        #expect(try mode(file.path) == 0o640)
    }

    @Test func aDatabaseFromANewerSheetsyncIsRefusedAndLeftAlone() throws {
        let file = TemporaryDatabase()
        do {
            let database = try WorksheetDatabase(path: file.path)
            try database.migrate([WorksheetDefinition(name: "orders", key: ["id"], fields: [.init(name: "id", type: .text)])])
            try database.close()
        }
        // What a newer sheetsync would leave: a migration this one does not know, then a checkpoint.
        let shell = Process()
        shell.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        shell.arguments = ["sqlite3", file.path, "INSERT INTO _sheetsync_migrations (version, name) VALUES (99, 'v99-from-the-future'); PRAGMA wal_checkpoint(TRUNCATE);"]
        shell.standardOutput = FileHandle.nullDevice
        try shell.run()
        shell.waitUntilExit()
        #expect(shell.terminationStatus == 0)
        let before = try Data(contentsOf: URL(fileURLWithPath: file.path))

        do {
            _ = try WorksheetDatabase(path: file.path)
            Issue.record("a database with migration 99 was opened")
        } catch {
            #expect(error.code == .newerDatabase)
            #expect(error.message.contains("newer sheetsync"))
            #expect(error.message.contains("Upgrade sheetsync"))
        }
        let after = try Data(contentsOf: URL(fileURLWithPath: file.path))
        let changed = zip(before, after).enumerated().filter { $0.element.0 != $0.element.1 }.map(\.offset)
        #expect(after == before, "the refused database was modified at bytes \(changed.prefix(20)) (sizes \(before.count), \(after.count))")
    }

    /// v5: payloads frozen by an earlier sheetsync marked no seal positions, so a pending
    /// one holding a placeholder cannot tell sheetsync's from record data: it is unfrozen
    /// and planned again from its record. Delivered ones and ones without placeholders stay.
    @Test func upgradingUnfreezesPendingPayloadsWithPlaceholders() throws {
        let file = TemporaryDatabase()
        try WorksheetDatabase(path: file.path).close()
        // Back to v4, with the deliveries an earlier sheetsync left.
        let (output, status) = try sqlite3Shell(file.path, """
            DELETE FROM _sheetsync_migrations WHERE version = 5;
            ALTER TABLE _sheetsync_deliveries DROP COLUMN payload_seals;
            ALTER TABLE _sheetsync_deliveries DROP COLUMN request;
            ALTER TABLE _sheetsync_deliveries DROP COLUMN request_seals;
            INSERT INTO _sheetsync_deliveries (job, worksheet, record_key, change_id, first_operation, outbox_seq, state, payload, payload_hash, operation) VALUES
              ('p', 'w', '["a"]', 'c1', 'insert', 1, 'pending', '{"note":"{{secret.T}}"}', 'h1', 'insert'),
              ('p', 'w', '["b"]', 'c2', 'insert', 2, 'failed', '{"note":"{{secret.T|json}}"}', 'h2', 'insert'),
              ('p', 'w', '["c"]', 'c3', 'insert', 3, 'pending', '{"note":"plain"}', 'h3', 'insert'),
              ('p', 'w', '["d"]', 'c4', 'insert', 4, 'delivered', '{"note":"{{secret.T}}"}', 'h4', 'insert');
            """)
        #expect(status == 0, "\(output)")
        let database = try WorksheetDatabase(path: file.path)
        #expect(try database.appliedMigrations().contains("v5-payload-seals"))
        let rows = try database.deliveries(job: "p", state: nil, limit: 10).sorted { $0.changeID < $1.changeID }
        #expect(rows.map(\.payload) == [nil, nil, #"{"note":"plain"}"#, #"{"note":"{{secret.T}}"}"#])
        #expect(rows.map(\.payloadHash) == [nil, nil, "h3", "h4"])
        #expect(rows.allSatisfy { $0.payloadSeals == nil && $0.request == nil })
    }

    /// Issue 14, item 4: change ids were `chg_<job>_<outbox seq>`, so a new database file
    /// (or a restored backup) gave new changes ids already sent, and receivers that
    /// de-duplicate on `Idempotency-Key` dropped them. Ids are random now.
    @Test func changeIdsAreNeverReusedAcrossDatabaseFiles() throws {
        let sheet = WorksheetDefinition(name: "notes", key: ["id"], fields: [.init(name: "id", type: .text), .init(name: "note", type: .text)])
        var ids: [String] = []
        for _ in 0..<2 {
            let file = TemporaryDatabase()
            let database = try WorksheetDatabase(path: file.path)
            try database.migrate([sheet], captured: ["notes"])
            _ = try database.upsert(RowBatch(columns: ["id", "note"], rows: [[.text("a"), .text("x")], [.text("b"), .text("y")]]), into: sheet, source: "t")
            #expect(try database.ingestChanges(job: "push", worksheet: "notes") == 2)
            ids += try database.deliveries(job: "push", state: nil, limit: 10).map(\.changeID)
        }
        #expect(ids.count == 4)
        #expect(Set(ids).count == 4, "a change id was reused: \(ids)")
        #expect(ids.allSatisfy { $0.hasPrefix("chg_") && $0.count == 36 })
    }

    /// The same with a backup restored over the file: the outbox sequence goes back, and
    /// the next change after the restore must still get an id never sent before.
    @Test func changeIdsAreNeverReusedAfterABackupIsRestored() throws {
        let sheet = WorksheetDefinition(name: "notes", key: ["id"], fields: [.init(name: "id", type: .text), .init(name: "note", type: .text)])
        let file = TemporaryDatabase()
        let backup = file.directory.appendingPathComponent("backup.db").path
        var sent: [String] = []
        do {
            let database = try WorksheetDatabase(path: file.path)
            try database.migrate([sheet], pushJobs: ["push": "notes"])
            try database.write { try $0.execute(sql: "INSERT INTO notes (id, note) VALUES ('a', 'x')") }
            try database.ingestChanges(job: "push", worksheet: "notes")
            try file.rawConnection().writeWithoutTransaction { try $0.execute(sql: "VACUUM INTO ?", arguments: [backup]) }
            try database.write { try $0.execute(sql: "INSERT INTO notes (id, note) VALUES ('b', 'y')") }
            try database.ingestChanges(job: "push", worksheet: "notes")
            sent = try database.deliveries(job: "push", state: nil, limit: 10).map(\.changeID)
            try database.close()
        }
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: file.path + suffix) }
        try FileManager.default.copyItem(atPath: backup, toPath: file.path)
        let restored = try WorksheetDatabase(path: file.path)
        try restored.migrate([sheet], pushJobs: ["push": "notes"])
        try restored.write { try $0.execute(sql: "INSERT INTO notes (id, note) VALUES ('c', 'z')") }
        #expect(try restored.ingestChanges(job: "push", worksheet: "notes") == 1)
        let after = try #require(try restored.deliveries(job: "push", state: nil, limit: 1).first)
        #expect(after.recordKey == #"["c"]"#)
        #expect(sent.count == 2)
        #expect(!sent.contains(after.changeID), "change id \(after.changeID) was already sent before the restore")
    }
}
