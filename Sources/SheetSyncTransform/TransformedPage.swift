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
    /// Which of the mapping's paths found a member in the page's records.
    public var matches = PathMatches()
    /// The whole page's digest, for a job that skips unchanged records (a page read from
    /// memory): stored with the page, or, when `skipped`, found stored already.
    public var whole: WholePage?

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

/// Which mapped paths found a member (null included) in the records mapped, per level:
/// the job's worksheet first, then each child level in the order of a page's `ChildRows`.
/// A path that finds nothing in any record of a whole run is reported: most likely a
/// typo, whose column would otherwise fill with NULL without a word
/// (`GetMultipleData.unmatchedPathWarnings`).
public struct PathMatches: Sendable, Equatable {
    /// Per level, a flag per field of its mapper.
    public var found: [[Bool]] = []
    /// Per level, the records mapped (rejected ones included).
    public var mapped: [Int] = []

    public init() {}

    init(fieldCounts: [Int]) {
        found = fieldCounts.map { Array(repeating: false, count: $0) }
        mapped = Array(repeating: 0, count: fieldCounts.count)
    }

    /// Adds what another page (or batch) of the same mapping found.
    public mutating func merge(_ other: PathMatches) {
        guard !other.found.isEmpty else { return }
        guard found.count == other.found.count else {
            self = other
            return
        }
        for level in found.indices {
            for field in found[level].indices where other.found[level][field] { found[level][field] = true }
            mapped[level] += other.mapped[level]
        }
    }
}

/// A page read from memory by a job that skips unchanged records: its digest, to store once
/// every record of it is stored or confirmed (`PageSink.page`), or, when the store held it
/// already, the page not read at all: no rows, its record count and cursor as stored.
public struct WholePage: Sendable {
    public var digest: PageDigest
    /// The store held the page's digest: nothing of it was read.
    public var skipped: Bool
    /// When skipped: the page read record by record (without asking the store), for when
    /// the page's transaction finds its digest gone.
    public let remap: (@Sendable () throws -> TransformedPage)?

    public init(digest: PageDigest, skipped: Bool, remap: (@Sendable () throws -> TransformedPage)? = nil) {
        self.digest = digest
        self.skipped = skipped
        self.remap = remap
    }
}
