import Foundation
import GRDB
import Testing
import SheetSyncCore
@testable import SheetSyncStore

/// Issue 15, item 5: 1,000 fields made every pull fail ("Expression tree is too large
/// (maximum depth 1000)": the change checks were one long OR chain) and so did `migrate` when
/// a push job captured the worksheet; up to SQLite's column limit must work.
struct WideWorksheetTests {
    static func wide(_ count: Int) -> WorksheetDefinition {
        WorksheetDefinition(name: "wide", key: ["f0"], fields: (0..<count).map { .init(name: "f\($0)", type: $0 % 2 == 0 ? .text : .integer) })
    }

    static func row(_ count: Int, seed: Int) -> [SQLValue] {
        (0..<count).map { $0 == 0 ? .text("k") : ($0 % 2 == 0 ? .text("v\($0)-\(seed)") : .integer(Int64($0 + seed))) }
    }

    @Test(arguments: [1_000, WorksheetDefinition.maxFields])
    func upsertAndCaptureWorkUpToTheColumnLimit(fields: Int) throws {
        let file = TemporaryDatabase()
        let database = try WorksheetDatabase(path: file.path)
        let sheet = Self.wide(fields)
        try database.migrate([sheet], pushJobs: ["push": "wide"])
        let columns = sheet.fields.map(\.name)
        let first = try database.upsert(RowBatch(columns: columns, rows: [Self.row(fields, seed: 0)]), into: sheet, source: "t")
        #expect(first.inserted == 1)
        // The same values: no update and nothing captured.
        let same = try database.upsert(RowBatch(columns: columns, rows: [Self.row(fields, seed: 0)]), into: sheet, source: "t")
        #expect(same.inserted == 0 && same.updated == 0)
        // Only the last field changes: an update, captured once.
        var changed = Self.row(fields, seed: 0)
        changed[fields - 1] = .integer(-1)
        let update = try database.upsert(RowBatch(columns: columns, rows: [changed]), into: sheet, source: "t")
        #expect(update.updated == 1)
        let outbox = try file.rawConnection().read { db in try String.fetchAll(db, sql: "SELECT operation FROM _sheetsync_outbox ORDER BY seq") }
        #expect(outbox == ["insert", "update"])
        // A write by another client to the last field is captured by the trigger too.
        try file.rawConnection().write { db in try db.execute(sql: "UPDATE wide SET \"f\(fields - 1)\" = 7") }
        #expect(try database.ingestChanges(job: "push", worksheet: "wide") == 1)
    }
}
