import GRDB
import SheetSyncCore

/// The result of `sheetsync query`: column names and rows of SQLite values.
public struct QueryResult: Sendable {
    public var columns: [String]
    public var rows: [[SQLValue]]
    /// Rows changed by the last statement, for write statements.
    public var changes: Int
    /// Whether the statement returns rows (a query), even none: PostgreSQL gives no column
    /// names for an empty result through the driver's API, so `columns` cannot tell.
    public var returnsRows: Bool

    public init(columns: [String], rows: [[SQLValue]], changes: Int, returnsRows: Bool? = nil) {
        self.columns = columns
        self.rows = rows
        self.changes = changes
        self.returnsRows = returnsRows ?? !columns.isEmpty
    }
}

extension WorksheetDatabase {
    /// Runs the SQL the user typed: one or more statements; the rows of the last one
    /// that returns rows are the result.
    ///
    /// Without `allowWrite`, every statement is checked with SQLite's own
    /// `sqlite3_stmt_readonly` before anything runs, and the first that would write
    /// is refused; the connection is read-only as well, so nothing can slip through.
    public static func query(path: String, sql: String, allowWrite: Bool) throws(StoreError) -> QueryResult {
        var configuration = Configuration()
        configuration.readonly = !allowWrite
        configuration.busyMode = .timeout(busyTimeout)
        do {
            let queue = try DatabaseQueue(path: path, configuration: configuration)
            let work: (Database) throws -> QueryResult = { db in
                var result = QueryResult(columns: [], rows: [], changes: 0)
                // Read-only: prepare all first, so a write anywhere refuses the whole input.
                // With --write, prepare lazily: later statements may use tables earlier ones create.
                let cursor = try db.allStatements(sql: sql)
                var pending: [Statement] = []
                if !allowWrite {
                    pending = try Array(cursor)
                    if let writer = pending.first(where: { !$0.isReadonly }) {
                        throw StoreError(.writeRefused, "Refusing to run '\(writer.sql.prefix(80))': it writes to the database. Add --write to allow it.")
                    }
                }
                var ranAny = false
                func run(_ statement: Statement) throws {
                    ranAny = true
                    if statement.columnCount > 0 {
                        result.columns = statement.columnNames
                        result.returnsRows = true
                        result.rows = try Row.fetchAll(statement).map { row in
                            (0..<row.count).map { SQLValue(row[$0] as DatabaseValue) }
                        }
                    } else {
                        try statement.execute()
                        result.changes = db.changesCount
                    }
                }
                if allowWrite {
                    while let statement = try cursor.next() { try run(statement) }
                } else {
                    for statement in pending { try run(statement) }
                }
                if !ranAny {
                    throw StoreError(.sqlError, "No SQL statement given. Pass one, such as 'SELECT * FROM orders LIMIT 10'.")
                }
                return result
            }
            return allowWrite ? try queue.write(work) : try queue.read(work)
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(.sqlError, "SQL error: \(describe(error))", underlying: error)
        }
    }
}
