import SheetSyncCore

/// What one response page becomes: rows for the job's worksheet, rows for each child
/// worksheet, and the records that could not be converted.
public struct TransformedPage: Sendable {
    public var rows: RowBatch
    public var children: [ChildRows]
    public var rejects: [Reject]
    /// Records found at `records`, rejected ones included.
    public var recordCount: Int
    /// The largest incremental cursor value among the records (rejected ones included:
    /// they are kept in `_sheetsync_rejects`, so the cursor may pass them).
    public var cursorMax: String?
    /// The record each row came from, aligned with `rows.rows` (for per-record steps).
    public var sourceRecords: [JSONValue] = []

    public init(rows: RowBatch, children: [ChildRows] = [], rejects: [Reject] = [], recordCount: Int = 0) {
        self.rows = rows
        self.children = children
        self.rejects = rejects
        self.recordCount = recordCount
    }
}

/// A response that cannot be turned into rows at all.
public struct TransformError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}

/// Why a response body could not be read as a page, with a stable code (recorded as
/// the run's `error_code`).
public struct PageReadError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// The body is not valid JSON.
        case invalidJSON = "invalid_json"
        /// Valid JSON without records where the job expects them.
        case unexpectedResponse = "unexpected_response"
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
