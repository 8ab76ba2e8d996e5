/// Rows for one worksheet, values aligned with `columns` (user fields only; the
/// store writes the system columns itself).
public struct RowBatch: Sendable, Hashable {
    public var columns: [String]
    public var rows: [[SQLValue]]
    /// For a job that skips unchanged records by digest: one per row, the digest of the
    /// record the row came from, stored with the row once written; empty otherwise.
    public var digests: [RecordDigest] = []

    public init(columns: [String], rows: [[SQLValue]] = []) {
        self.columns = columns
        self.rows = rows
    }

    /// The values of `names` in each row, for keys.
    public func values(of names: [String]) -> [[SQLValue]] {
        let indexes = names.compactMap { columns.firstIndex(of: $0) }
        return rows.map { row in indexes.map { row[$0] } }
    }
}

/// What is stored with a row whose record may be skipped next time (`skip_unchanged`).
public struct RecordDigest: Sendable, Hashable {
    /// The record's digest as sent (`RecordDigester`); empty for a record with a rejected
    /// child, which is never skipped.
    public var digest: [UInt8]
    /// The record's incremental cursor value: a skipped record still moves the cursor.
    public var cursor: String?
    /// How many child rows the record made, per child worksheet, in the job's order: a
    /// skipped record's child rows are counted unchanged.
    public var childRows: [Int]

    public init(digest: [UInt8], cursor: String? = nil, childRows: [Int] = []) {
        self.digest = digest
        self.cursor = cursor
        self.childRows = childRows
    }
}

/// What is stored for a whole page whose records may all be skipped next time
/// (`skip_unchanged`): the page's digest as sent, and what reading it found.
public struct PageDigest: Sendable, Hashable {
    /// The page's digest (`RecordDigester.pageDigest`).
    public var digest: [UInt8]
    /// Records in the page.
    public var records: Int
    /// The largest incremental cursor value among them.
    public var cursor: String?
    /// The page as JSON text without its records (`"data": []`): what pagination reads.
    public var outline: String

    public init(digest: [UInt8], records: Int, cursor: String?, outline: String) {
        self.digest = digest
        self.records = records
        self.cursor = cursor
        self.outline = outline
    }
}
