import Foundation
import GRDB
import SheetSyncCore
import SheetSyncPostgres
@testable import SheetSyncStore
import SheetSyncTesting

/// A store of either kind for one test (issue 19: the store suites run on both): an SQLite
/// file in a temporary directory, or a fresh database on the test process's PostgreSQL
/// server; and SQL on it as another client runs it (GRDB's own connection, `psql`).
final class StoreFixture {
    let backend: Backend
    let store: any WorksheetStore
    private let file: TemporaryDatabase?
    private let url: String?

    init(_ backend: Backend) throws {
        self.backend = backend
        switch backend {
        case .sqlite:
            let file = TemporaryDatabase()
            self.file = file
            url = nil
            store = try WorksheetDatabase(path: file.path)
        case .postgres:
            let url = try TemporaryPostgres.shared().newDatabase()
            self.url = url
            file = nil
            store = try PostgresStore(try PostgresLocation.parse(url), password: TemporaryPostgres.password)
        }
    }

    deinit { try? store.close() }

    /// The first column of `sql`'s rows as text, read by another client (NULL as "").
    func strings(_ sql: String) throws -> [String] {
        if let url {
            let output = try TemporaryPostgres.shared().psql(url, sql)
            return output.isEmpty ? [] : output.split(separator: "\n", omittingEmptySubsequences: false).dropLast(output.hasSuffix("\n") ? 1 : 0).map(String.init)
        }
        return try file!.rawConnection().read { db in
            try Row.fetchAll(db, sql: sql).map { row in
                switch (row[0] as DatabaseValue).storage {
                case .null: ""
                case .int64(let number): String(number)
                case .double(let number): String(number)
                case .string(let text): text
                case .blob(let bytes): bytes.map { String(format: "%02x", $0) }.joined()
                }
            }
        }
    }

    /// The columns of `table`, in order, from the store's own catalogue.
    func columns(of table: String) throws -> [String] {
        switch backend {
        case .sqlite: try file!.rawConnection().read { try $0.columns(in: table).map(\.name) }
        case .postgres:
            try strings("SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = '\(table)' ORDER BY ordinal_position")
        }
    }

    /// The columns of `table`'s primary key, in order.
    func primaryKey(of table: String) throws -> [String] {
        switch backend {
        case .sqlite: try file!.rawConnection().read { try $0.primaryKey(table).columns }
        case .postgres:
            try strings("""
                SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
                WHERE i.indrelid = '\(table)'::regclass AND i.indisprimary ORDER BY array_position(i.indkey::int2[], a.attnum)
                """)
        }
    }

    /// Runs `script` (statements separated by semicolons) in one transaction, as another
    /// program writing to the database would.
    func execute(_ script: String) throws {
        if let url {
            _ = try TemporaryPostgres.shared().psql(url, "BEGIN; \(script); COMMIT;")
        } else {
            try file!.rawConnection().write { try $0.execute(sql: script) }
        }
    }
}

extension WorksheetStore {
    /// `writePage` with the defaults a test needs.
    func writeTestPage(rows: [RowBatch], into worksheet: WorksheetDefinition, children: [(ChildRows, WorksheetDefinition)] = [],
                       rejects: [Reject] = [], job: String = "j", run: Int64? = nil, requests: [RequestAttempt] = [],
                       write mode: WriteMode = .upsert) throws(StoreError) -> WriteCounts {
        try writePage(rows: rows, into: worksheet, children: children, rejects: rejects, job: job, run: run, state: [:], stepFailures: [],
                      requests: requests, halfway: nil, write: mode, first: nil)
    }
}
