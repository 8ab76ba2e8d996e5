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

extension ChildRows {
    /// These rows without those of the parents in `skippedParents` (keys of the level above,
    /// in its key order) nor those parents, and the keys (in `definition.key` order) of the
    /// rows taken out: a parent not written takes its children along. Both stores use it.
    public func removingChildren(of skippedParents: [[SQLValue]], _ definition: WorksheetDefinition) -> (ChildRows, [[SQLValue]]) {
        guard !skippedParents.isEmpty else { return (self, []) }
        // The parents' keys as this level's link columns hold them: converted to their
        // types, as the transform converted them.
        let links = Set(skippedParents.map { key in
            zip(linkColumns, key).map { column, value in
                (try? definition.field(named: column)?.type.convert(stored: value)) ?? value
            }
        })
        let linkIndexes = linkColumns.compactMap { rows.columns.firstIndex(of: $0) }
        let keyIndexes = definition.key.compactMap { rows.columns.firstIndex(of: $0) }
        var kept = self
        kept.rows.rows = []
        kept.parentKeys = parentKeys.filter { !links.contains($0) }
        var orphans: [[SQLValue]] = []
        for row in rows.rows {
            if links.contains(linkIndexes.map { row[$0] }) {
                orphans.append(keyIndexes.map { row[$0] })
            } else {
                kept.rows.rows.append(row)
            }
        }
        return (kept, orphans)
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

