import Foundation
import GRDB
import Testing
import SheetSyncCore
@testable import SheetSyncStore

/// The delivery ledger's intake: which changes a push job takes in, and how.
struct DeliveryLedgerTests {
    let notes = WorksheetDefinition(name: "notes", key: ["id"], fields: [.init(name: "id", type: .text), .init(name: "note", type: .text)])

    @Test func aNewPushJobStartsFromTheChangesAfterItWasFirstSeen() throws {
        let file = TemporaryDatabase()
        let database = try WorksheetDatabase(path: file.path)
        try database.migrate([notes], pushJobs: ["old": "notes"])
        try database.write { db in
            try db.execute(sql: "INSERT INTO notes (id, note) VALUES ('a', 'x'), ('b', 'y'); DELETE FROM notes WHERE id = 'a'")
        }
        // A second job appears: it does not send what was captured before it existed.
        try database.migrate([notes], pushJobs: ["old": "notes", "new": "notes"])
        #expect(try database.ingestChanges(job: "new", worksheet: "notes") == 0)
        #expect(try database.ingestChanges(job: "old", worksheet: "notes") == 2)
        try database.write { db in try db.execute(sql: "UPDATE notes SET note = 'z' WHERE id = 'b'") }
        #expect(try database.ingestChanges(job: "new", worksheet: "notes") == 1)
        #expect(try database.deliveries(job: "new", state: nil, limit: 10).map(\.recordKey) == [#"["b"]"#])
        // Registering again (every command does) moves nothing.
        try database.migrate([notes], pushJobs: ["old": "notes", "new": "notes"])
        try database.write { db in try db.execute(sql: "INSERT INTO notes (id, note) VALUES ('c', 'w')") }
        #expect(try database.ingestChanges(job: "new", worksheet: "notes") == 1)
    }

    @Test func outboxIntakeGoesInChunksAndStillCoalesces() throws {
        let file = TemporaryDatabase()
        let database = try WorksheetDatabase(path: file.path)
        try database.migrate([notes], pushJobs: ["p": "notes"])
        try database.write { db in
            for index in 0..<12 { try db.execute(sql: "INSERT INTO notes (id, note) VALUES (?, 'x')", arguments: ["r\(index)"]) }
            // Changes of r0 in later chunks join its open delivery.
            try db.execute(sql: "UPDATE notes SET note = 'y' WHERE id = 'r0'; UPDATE notes SET note = 'z' WHERE id = 'r0'")
        }
        #expect(try database.ingestChanges(job: "p", worksheet: "notes", chunk: 5) == 12)
        let ledger = try database.deliveries(job: "p", state: nil, limit: 100).reversed()
        #expect(ledger.map(\.recordKey) == (0..<12).map { #"["r\#($0)"]"# })
        #expect(Set(ledger.map(\.changeID)).count == 12)
        #expect(try database.state(job: "p")[StateKey.outboxPosition] == "14")
        #expect(try database.ingestChanges(job: "p", worksheet: "notes", chunk: 5) == 0)
    }

}
