import SheetSyncCore

/// What one response page becomes: rows for the job's worksheet, rows for each child
/// worksheet (every level of nested children, each before its own children), and the
/// records that could not be converted.
public struct TransformedPage: Sendable {
    public var rows: RowBatch
    public var children: [ChildRows]
    public var rejects: [Reject]
    /// Records found at `records`, rejected ones included.
    public var recordCount: Int
    /// The largest incremental cursor value among the records that became rows (a
    /// rejected record never moves the cursor), in the cursor field's type.
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
