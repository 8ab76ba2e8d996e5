/// Rows for one worksheet, values aligned with `columns` (user fields only; the
/// store writes the system columns itself).
public struct RowBatch: Sendable, Hashable {
    public var columns: [String]
    public var rows: [[SQLValue]]
    /// For a job that skips unchanged records by digest: one per row, the digest of the
    /// record's mapped values and its child rows (see `RecordDigest`); empty otherwise.
    public var digests: [[UInt8]] = []

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
