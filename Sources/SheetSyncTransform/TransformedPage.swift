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
    /// Records not mapped because their digest was stored (`skip_unchanged`); counted in
    /// `recordCount`, their cursor values in `cursorMax`.
    public var unchanged: UnchangedRecords?

    public init(rows: RowBatch, children: [ChildRows] = [], rejects: [Reject] = [], recordCount: Int = 0) {
        self.rows = rows
        self.children = children
        self.rejects = rejects
        self.recordCount = recordCount
    }
}

/// Records a page reader skipped as unchanged since the last sync, by their digest. The
/// store confirms each one when it writes the page (its digest is still stored: nobody
/// changed the row since) and has the others mapped with `remap` and written.
public struct UnchangedRecords: Sendable {
    /// Each record's row key (converted as its row's) and digest.
    public var keys: [[SQLValue]]
    public var digests: [[UInt8]]
    /// The page the records at these positions of `digests` make.
    public let remap: @Sendable ([Int]) throws -> TransformedPage

    public init(keys: [[SQLValue]], digests: [[UInt8]], remap: @escaping @Sendable ([Int]) throws -> TransformedPage) {
        self.keys = keys
        self.digests = digests
        self.remap = remap
    }
}
