/// Rows of a child worksheet and the parents they belong to.
///
/// With `write: upsert` the store replaces each listed parent's children with `rows`:
/// child rows of those parents that are not in `rows` are deleted (the item was removed
/// upstream). `insert` and `update` delete nothing (see `WriteMode`).
public struct ChildRows: Sendable {
    public var worksheet: String
    /// Child columns that hold the parent's key, in the order of the parent key.
    public var linkColumns: [String]
    /// The key of every parent in the page whose children are replaced.
    public var parentKeys: [[SQLValue]]
    public var rows: RowBatch
    /// For children of children: the position, among the page's child rows, of the
    /// level whose rows are the parents; nil when the parents are the job's rows. A row
    /// the store removes takes its children at the levels below along.
    public var parent: Int?
    /// How the rows are written (the child mapping's `write`).
    public var write: WriteMode

    public init(worksheet: String, linkColumns: [String], parentKeys: [[SQLValue]], rows: RowBatch, parent: Int? = nil,
                write: WriteMode = .upsert) {
        self.worksheet = worksheet
        self.linkColumns = linkColumns
        self.parentKeys = parentKeys
        self.rows = rows
        self.parent = parent
        self.write = write
    }
}

/// A record that could not become a row: why, and its raw JSON.
public struct Reject: Sendable, Equatable {
    public var worksheet: String
    public var reason: String
    public var raw: String

    public init(worksheet: String, reason: String, raw: String) {
        self.worksheet = worksheet
        self.reason = reason
        self.raw = raw
    }
}

