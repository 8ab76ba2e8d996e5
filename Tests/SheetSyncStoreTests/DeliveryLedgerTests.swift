import Foundation
import SheetSyncTesting
import Testing
import SheetSyncCore
@testable import SheetSyncStore

/// The delivery ledger's intake: which changes a push job takes in, and how. On both stores.
struct DeliveryLedgerTests {
    let notes = WorksheetDefinition(name: "notes", key: ["id"], fields: [.init(name: "id", type: .text), .init(name: "note", type: .text)])

    @Test(arguments: Backend.allCases)
    func aNewPushJobStartsFromTheChangesAfterItWasFirstSeen(backend: Backend) throws {
        let file = try StoreFixture(backend)
        let database = file.store
        try database.migrate([notes], pushJobs: ["old": "notes"])
        try file.execute("INSERT INTO notes (id, note) VALUES ('a', 'x'), ('b', 'y'); DELETE FROM notes WHERE id = 'a'")
        // A second job appears: it does not send what was captured before it existed.
        try database.migrate([notes], pushJobs: ["old": "notes", "new": "notes"])
        #expect(try database.ingestChanges(job: "new", worksheet: "notes") == 0)
        #expect(try database.ingestChanges(job: "old", worksheet: "notes") == 2)
        try file.execute("UPDATE notes SET note = 'z' WHERE id = 'b'")
        #expect(try database.ingestChanges(job: "new", worksheet: "notes") == 1)
        #expect(try database.deliveries(job: "new", state: nil, limit: 10).map(\.recordKey) == [#"["b"]"#])
        // Registering again (every command does) moves nothing.
        try database.migrate([notes], pushJobs: ["old": "notes", "new": "notes"])
        try file.execute("INSERT INTO notes (id, note) VALUES ('c', 'w')")
        #expect(try database.ingestChanges(job: "new", worksheet: "notes") == 1)
    }

    @Test(arguments: Backend.allCases)
    func outboxIntakeGoesInChunksAndStillCoalesces(backend: Backend) throws {
        let file = try StoreFixture(backend)
        let database = file.store
        try database.migrate([notes], pushJobs: ["p": "notes"])
        // Changes of r0 in later chunks join its open delivery.
        try file.execute((0..<12).map { "INSERT INTO notes (id, note) VALUES ('r\($0)', 'x')" }.joined(separator: "; ")
                         + "; UPDATE notes SET note = 'y' WHERE id = 'r0'; UPDATE notes SET note = 'z' WHERE id = 'r0'")
        #expect(try database.ingestChanges(job: "p", worksheet: "notes", chunk: 5) == 12)
        let ledger = try database.deliveries(job: "p", state: nil, limit: 100).reversed()
        #expect(ledger.map(\.recordKey) == (0..<12).map { #"["r\#($0)"]"# })
        #expect(Set(ledger.map(\.changeID)).count == 12)
        #expect(try database.state(job: "p")[StateKey.outboxPosition] == "14")
        #expect(try database.ingestChanges(job: "p", worksheet: "notes", chunk: 5) == 0)
    }

    /// The intake is set-based (a statement per step, not per outbox row): per record of a
    /// chunk, in the order of its first change there, one delivery that starts with that
    /// change and covers the record's latest; an open delivery takes the latest instead; a
    /// delivery already attempted gets a new one behind it; the job's own write-back is not
    /// queued for it.
    @Test(arguments: Backend.allCases)
    func oneChunkQueuesADeliveryPerRecordInTheOrderOfTheirFirstChange(backend: Backend) throws {
        let file = try StoreFixture(backend)
        let database = file.store
        try database.migrate([notes], pushJobs: ["p": "notes"])
        try file.execute("INSERT INTO notes (id, note) VALUES ('open', 'x'), ('tried', 'x')")
        #expect(try database.ingestChanges(job: "p", worksheet: "notes") == 2)
        // 'tried' has been attempted once: a later change may not join it. Last, a write-back
        // of job 'p' itself: captured, not queued for 'p'.
        try file.execute("""
            UPDATE _sheetsync_deliveries SET attempts = 1, payload = '{}' WHERE record_key = '["tried"]';
            INSERT INTO notes (id, note) VALUES ('b', '1');
            UPDATE notes SET note = '2' WHERE id = 'open';
            INSERT INTO notes (id, note) VALUES ('a', '1');
            UPDATE notes SET note = '2' WHERE id = 'tried';
            UPDATE notes SET note = '2' WHERE id = 'b';
            DELETE FROM notes WHERE id = 'b';
            UPDATE notes SET note = '3' WHERE id = 'open';
            INSERT INTO notes (id, note) VALUES ('own', '1');
            UPDATE _sheetsync_outbox SET origin = 'p' WHERE record_key = '["own"]'
            """)
        let outbox = try file.strings("SELECT record_key || ' ' || max(seq) FROM _sheetsync_outbox GROUP BY record_key").reduce(into: [String: Int64]()) {
            let parts = $1.split(separator: " ")
            $0[String(parts[0])] = Int64(parts[1])
        }
        #expect(try database.ingestChanges(job: "p", worksheet: "notes") == 3)
        let ledger = try database.deliveries(job: "p", state: nil, limit: 100).reversed().map { ($0.recordKey, $0.firstOperation.rawValue) }
        #expect(ledger.map(\.0) == [#"["open"]"#, #"["tried"]"#, #"["b"]"#, #"["a"]"#, #"["tried"]"#])
        #expect(ledger.map(\.1) == ["insert", "insert", "insert", "insert", "update"])
        let covered = try file.strings("SELECT record_key || ' ' || outbox_seq FROM _sheetsync_deliveries WHERE job = 'p' ORDER BY id").map { line in
            let parts = line.split(separator: " ")
            return (String(parts[0]), Int64(parts[1]) ?? -1)
        }
        #expect(covered[0] == (#"["open"]"#, outbox[#"["open"]"#]!))
        #expect(covered[2] == (#"["b"]"#, outbox[#"["b"]"#]!))
        #expect(covered[4] == (#"["tried"]"#, outbox[#"["tried"]"#]!))
        #expect(covered[1].1 < covered[4].1)
        #expect(Set(try database.deliveries(job: "p", state: nil, limit: 100).map(\.changeID)).count == 5)
        #expect(try database.deliveries(job: "p", state: nil, limit: 100).allSatisfy { $0.changeID.hasPrefix("chg_") && $0.changeID.count == 36 })
    }
}
