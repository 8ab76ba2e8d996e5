import Foundation
import SheetSyncPostgres
import SheetSyncTesting
import Testing
import SheetSyncCore
@testable import SheetSyncStore

/// Issue 15, item 5: 1,000 fields made every pull fail ("Expression tree is too large
/// (maximum depth 1000)": the change checks were one long OR chain) and so did `migrate` when
/// a push job captured the worksheet; up to the store's column limit must work (SQLite's
/// 2,000 columns, PostgreSQL's 1,600, each less sheetsync's 4 system columns).
struct WideWorksheetTests {
    static func wide(_ count: Int) -> WorksheetDefinition {
        WorksheetDefinition(name: "wide", key: ["f0"], fields: (0..<count).map { .init(name: "f\($0)", type: $0 % 2 == 0 ? .text : .integer) })
    }

    /// Values in every field, or (`sparse`) in every fourth and the last, the others NULL:
    /// a PostgreSQL row must fit in its 8 KB page (small values are not moved out of it), and
    /// 1,596 filled fields of these take 12.8 KB — a limit of the data, not of the columns.
    static func row(_ count: Int, seed: Int, sparse: Bool = false) -> [SQLValue] {
        (0..<count).map { index -> SQLValue in
            if sparse, index % 4 != 0, index != count - 1 { return .null }
            return index == 0 ? .text("k") : (index % 2 == 0 ? .text("v\(index)-\(seed)") : .integer(Int64(index + seed)))
        }
    }

    @Test(arguments: [(Backend.sqlite, 1_000), (.sqlite, WorksheetDefinition.maxFields), (.postgres, 1_000), (.postgres, PostgresStore.maxFields)])
    func upsertAndCaptureWorkUpToTheColumnLimit(backend: Backend, fields: Int) throws {
        let file = try StoreFixture(backend)
        let database = file.store
        let sheet = Self.wide(fields)
        try database.migrate([sheet], pushJobs: ["push": "wide"])
        let columns = sheet.fields.map(\.name)
        let sparse = backend == .postgres && fields > 1_000
        func write(_ row: [SQLValue]) throws -> UpsertCounts {
            try database.writeTestPage(rows: [RowBatch(columns: columns, rows: [row])], into: sheet).byWorksheet["wide"] ?? UpsertCounts()
        }
        #expect(try write(Self.row(fields, seed: 0, sparse: sparse)).inserted == 1)
        // The same values: no update and nothing captured.
        let same = try write(Self.row(fields, seed: 0, sparse: sparse))
        #expect(same.inserted == 0 && same.updated == 0)
        // Only the last field changes: an update, captured once.
        var changed = Self.row(fields, seed: 0, sparse: sparse)
        changed[fields - 1] = .integer(-1)
        #expect(try write(changed).updated == 1)
        #expect(try file.strings("SELECT operation FROM _sheetsync_outbox ORDER BY seq") == ["insert", "update"])
        // A write by another client to the last field is captured by the trigger too.
        try file.execute("UPDATE wide SET \"f\(fields - 1)\" = 7")
        #expect(try database.ingestChanges(job: "push", worksheet: "wide") == 1)
    }

    /// PostgreSQL holds fewer columns than SQLite: a wider worksheet is refused by `migrate`
    /// with the limit, before any table is made.
    @Test func aWorksheetWiderThanPostgreSQLHoldsIsRefusedClearly() throws {
        let file = try StoreFixture(.postgres)
        do {
            try file.store.migrate([Self.wide(PostgresStore.maxFields + 1)])
            Issue.record("a worksheet of \(PostgresStore.maxFields + 1) fields was accepted")
        } catch {
            #expect(error.code == .migrationFailed)
            #expect(error.message.contains("at most \(PostgresStore.maxFields)"), "\(error.message)")
        }
        #expect(try file.strings("SELECT count(*) FROM information_schema.tables WHERE table_name = 'wide'") == ["0"])
    }
}
