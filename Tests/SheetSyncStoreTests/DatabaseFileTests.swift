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
}
