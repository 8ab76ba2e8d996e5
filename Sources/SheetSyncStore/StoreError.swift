import Foundation

/// An error from the store (SQLite or PostgreSQL), with a stable code and a message that says what
/// to do about it.
public struct StoreError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        case cannotOpen = "cannot_open"
        case destructiveChange = "destructive_change"
        case migrationFailed = "migration_failed"
        case writeRefused = "write_refused"
        case sqlError = "sql_error"
        case newerDatabase = "newer_database"
        /// The file at the database's path is no longer the one open (removed or replaced).
        case fileReplaced = "file_replaced"
        /// The store in use does not have this feature (yet): PostgreSQL without push jobs.
        case unsupported = "unsupported"
        /// The database server cannot be reached, or refused the connection.
        case cannotConnect = "cannot_connect"
        /// A run lost what kept it the only run of its job on a shared database (its
        /// node's lock on the job): its page is not kept, and the run stops (`interrupted`).
        case lostClaim = "lost_claim"
    }

    public var code: Code
    public var message: String
    /// The underlying error (usually GRDB's `DatabaseError`), for logs.
    public var underlying: (any Error)?

    public init(_ code: Code, _ message: String, underlying: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.underlying = underlying
    }

    public var description: String { message }
}

/// SQL text helpers. All SQL lives in this module, so a PostgreSQL backend can be
/// added later without touching the other stages.
enum SQL {
    /// `"name"` with embedded quotes doubled.
    static func quote(_ identifier: String) -> String {
        "\"" + identifier.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// `'text'` with embedded quotes doubled.
    static func literal(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "'", with: "''") + "'"
    }

    /// The current time as sheetsync writes it: ISO-8601 UTC with milliseconds.
    static let now = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"

    /// `terms` joined by OR, as a balanced tree: SQLite refuses an expression deeper than
    /// 1,000 levels, and a plain `a OR b OR …` over a thousand fields is that deep.
    static func any(_ terms: [String]) -> String { balanced(terms, "OR", empty: "0") }

    /// `terms` joined by AND, as a balanced tree (see `any`).
    static func all(_ terms: [String]) -> String { balanced(terms, "AND", empty: "1") }

    private static func balanced(_ terms: [String], _ op: String, empty: String) -> String {
        switch terms.count {
        case 0: return empty
        case 1: return terms[0]
        default:
            let middle = terms.count / 2
            return "(" + balanced(Array(terms[..<middle]), op, empty: empty) + " \(op) " + balanced(Array(terms[middle...]), op, empty: empty) + ")"
        }
    }
}

