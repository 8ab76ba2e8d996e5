import GRDB
import GRDBSQLite
import SheetSyncCore

/// A prepared statement run through SQLite's C API with `SQLValue`s bound directly.
///
/// The page-write path runs a few statements hundreds of thousands of times; going
/// through GRDB's `StatementArguments` boxed every value as a `DatabaseValue` and
/// showed as generic-metadata and retain/release work in profiles. GRDB still
/// prepares and caches the statements and owns the transaction; this only binds,
/// steps and resets.
struct BoundStatement {
    private let statement: Statement
    private let handle: SQLiteStatement
    private let connection: SQLiteConnection?

    init(_ statement: Statement, _ db: Database) {
        self.statement = statement
        self.handle = statement.sqliteStatement
        self.connection = db.sqliteConnection
    }

    /// Binds `value` to parameter `index` (1-based).
    func bind(_ value: SQLValue, at index: Int32) {
        switch value {
        case .null: sqlite3_bind_null(handle, index)
        case .integer(let integer): sqlite3_bind_int64(handle, index, integer)
        case .real(let real): sqlite3_bind_double(handle, index, real)
        case .text(let text): bind(text, at: index)
        case .blob(let bytes):
            bytes.withUnsafeBytes { buffer in
                _ = sqlite3_bind_blob(handle, index, buffer.baseAddress, Int32(buffer.count), sqliteTransient)
            }
        }
    }

    func bind(_ text: String, at index: Int32) {
        var text = text
        text.withUTF8 { buffer in
            // An empty buffer may have no base address; SQLite needs a non-null pointer for ''.
            if buffer.isEmpty {
                _ = sqlite3_bind_text(handle, index, "", 0, sqliteTransient)
            } else {
                _ = sqlite3_bind_text(handle, index, UnsafeRawPointer(buffer.baseAddress!).assumingMemoryBound(to: CChar.self),
                                      Int32(buffer.count), sqliteTransient)
            }
        }
    }

    /// Runs the statement to completion and resets it; returns the rows it changed.
    @discardableResult
    func execute() throws -> Int {
        let code = sqlite3_step(handle)
        defer { sqlite3_reset(handle) }
        guard code == SQLITE_DONE || code == SQLITE_ROW else { throw error(code) }
        return Int(sqlite3_changes(connection))
    }

    /// Binds `values` to parameters 1, 2, … (every parameter: bindings outlive a reset),
    /// runs the statement and resets it; returns the rows it changed.
    @discardableResult
    func execute(_ values: [SQLValue]) throws -> Int {
        for (offset, value) in values.enumerated() { bind(value, at: Int32(offset + 1)) }
        return try execute()
    }

    /// Steps through the rows, handing each to `body`, then resets.
    func forEachRow(_ body: (BoundStatement) throws -> Void) throws {
        defer { sqlite3_reset(handle) }
        while true {
            let code = sqlite3_step(handle)
            if code == SQLITE_DONE { return }
            guard code == SQLITE_ROW else { throw error(code) }
            try body(self)
        }
    }

    /// Column `index` (0-based) of the current row.
    func column(_ index: Int32) -> SQLValue {
        switch sqlite3_column_type(handle, index) {
        case SQLITE_INTEGER: return .integer(sqlite3_column_int64(handle, index))
        case SQLITE_FLOAT: return .real(sqlite3_column_double(handle, index))
        case SQLITE_TEXT:
            let count = Int(sqlite3_column_bytes(handle, index))
            guard let pointer = sqlite3_column_text(handle, index) else { return .text("") }
            return .text(String(decoding: UnsafeBufferPointer(start: pointer, count: count), as: UTF8.self))
        case SQLITE_BLOB:
            let count = Int(sqlite3_column_bytes(handle, index))
            guard let pointer = sqlite3_column_blob(handle, index) else { return .blob([]) }
            return .blob(Array(UnsafeRawBufferPointer(start: pointer, count: count)))
        default: return .null
        }
    }

    /// Column `index` as text (NULL is nil; a number is read as SQLite prints it).
    func text(_ index: Int32) -> String? {
        guard sqlite3_column_type(handle, index) != SQLITE_NULL, let pointer = sqlite3_column_text(handle, index) else { return nil }
        return String(decoding: UnsafeBufferPointer(start: pointer, count: Int(sqlite3_column_bytes(handle, index))), as: UTF8.self)
    }

    /// Column `index` as an integer (NULL is nil).
    func integer(_ index: Int32) -> Int64? {
        sqlite3_column_type(handle, index) == SQLITE_NULL ? nil : sqlite3_column_int64(handle, index)
    }

    private func error(_ code: Int32) -> DatabaseError {
        let message = connection.flatMap { sqlite3_errmsg($0) }.map { String(cString: $0) }
        return DatabaseError(resultCode: ResultCode(rawValue: code), message: message, sql: statement.sql)
    }
}

extension SQLValue {
    /// Text, or NULL for nil.
    static func text(_ value: String?) -> SQLValue { value.map(SQLValue.text) ?? .null }
    /// An integer, or NULL for nil.
    static func integer(_ value: Int?) -> SQLValue { value.map { .integer(Int64($0)) } ?? .null }
}

/// SQLite copies the bound bytes before the bind call returns.
private let sqliteTransient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
