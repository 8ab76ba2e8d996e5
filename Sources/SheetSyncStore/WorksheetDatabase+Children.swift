import GRDB
import SheetSyncCore

/// Child rows of a page, at every level of nested children.
extension WorksheetDatabase {
    /// Writes each level of a page's child rows, in order (a level's parents come before
    /// it), in the level's `write` mode:
    /// - `upsert` replaces each parent's children: rows a parent in the page no longer
    ///   lists are deleted, and a deleted row takes its own children at the levels below
    ///   along, so no child is left without its parent;
    /// - `insert` adds the child rows whose key is new and leaves the others untouched;
    /// - `update` updates the child rows that exist and skips the others.
    /// Neither `insert` nor `update` deletes a row (but a row that an `upsert` level above
    /// deletes still takes its children along, whatever their mode). The children of a record that was
    /// skipped (`update`, no row with its key: `skippedParents` for the job's rows) are
    /// skipped too, at every level below, whatever their own mode: they are counted as
    /// skipped and no row of theirs is written or deleted.
    static func writeChildren(_ children: [(ChildRows, WorksheetDefinition)], source: String, _ db: Database, counts: inout WriteCounts,
                              skippedParents: [[SQLValue]] = []) throws {
        // Per level, the keys of the rows it skipped, for the levels below.
        var skippedByLevel: [[[SQLValue]]] = []
        for (level, (listed, definition)) in children.enumerated() {
            let (child, orphans) = listed.removingChildren(of: listed.parent.map { skippedByLevel[$0] } ?? skippedParents, definition)
            var skipped = orphans
            var levelCounts = try upsert(child.rows, into: definition, source: source, mode: child.write, db, skippedKeys: &skipped)
            levelCounts.skipped += orphans.count
            counts.byWorksheet[definition.name, default: UpsertCounts()] += levelCounts
            skippedByLevel.append(skipped)
            guard child.write == .upsert else { continue }
            guard children.contains(where: { $0.0.parent == level }) else {
                counts.deleted[definition.name, default: 0] += try removeStaleChildren(child, in: definition, db,
                                                                                    insertedAll: levelCounts.inserted == child.rows.rows.count)
                continue
            }
            let removed = try removeStaleParents(child, in: definition, db)
            counts.deleted[definition.name, default: 0] += removed.count
            try removeDescendants(of: removed, at: level, children, db, counts: &counts)
        }
    }

    /// `removeStaleChildren` for a level with children of its own: the same rows go, and
    /// their keys come back so that their children can follow.
    private static func removeStaleParents(_ child: ChildRows, in worksheet: WorksheetDefinition, _ db: Database) throws -> [[SQLValue]] {
        let linkIndexes = child.linkColumns.compactMap { child.rows.columns.firstIndex(of: $0) }
        let keyIndexes = worksheet.key.compactMap { child.rows.columns.firstIndex(of: $0) }
        guard linkIndexes.count == child.linkColumns.count, keyIndexes.count == worksheet.key.count else { return [] }
        var keep: [[SQLValue]: [[SQLValue]]] = [:]
        for row in child.rows.rows {
            keep[linkIndexes.map { row[$0] }, default: []].append(keyIndexes.map { row[$0] })
        }
        if try noStaleChildren(child, keep: keep, in: worksheet, db) { return [] }
        let table = SQL.quote(worksheet.name)
        let linkMatch = child.linkColumns.enumerated().map { "\(SQL.quote($0.element)) = ?\($0.offset + 1)" }.joined(separator: " AND ")
        let keyMatch = worksheet.key.enumerated().map { "\(SQL.quote($0.element)) = ?\($0.offset + 1)" }.joined(separator: " AND ")
        let select = BoundStatement(try db.cachedStatement(sql: "SELECT \(worksheet.key.map(SQL.quote).joined(separator: ", ")) FROM \(table) WHERE \(linkMatch)"), db)
        let delete = BoundStatement(try db.cachedStatement(sql: "DELETE FROM \(table) WHERE \(keyMatch)"), db)
        var removed: [[SQLValue]] = []
        var seen = Set<[SQLValue]>()
        for parent in child.parentKeys where seen.insert(parent).inserted {
            let kept = Set(keep[parent] ?? [])
            for (position, value) in parent.enumerated() { select.bind(value, at: Int32(position + 1)) }
            var existing: [[SQLValue]] = []
            try select.forEachRow { row in existing.append((0..<Int32(worksheet.key.count)).map { row.column($0) }) }
            for key in existing where !kept.contains(key) {
                for (position, value) in key.enumerated() { delete.bind(value, at: Int32(position + 1)) }
                if try delete.execute() > 0 { removed.append(key) }
            }
        }
        return removed
    }

    /// Deletes the rows at the levels below `level` whose parent (a row of `level`, by
    /// its key) was removed, and theirs in turn.
    private static func removeDescendants(of parents: [[SQLValue]], at level: Int, _ children: [(ChildRows, WorksheetDefinition)],
                                          _ db: Database, counts: inout WriteCounts) throws {
        guard !parents.isEmpty else { return }
        for (below, (child, definition)) in children.enumerated() where child.parent == level {
            let table = SQL.quote(definition.name)
            let linkMatch = child.linkColumns.enumerated().map { "\(SQL.quote($0.element)) = ?\($0.offset + 1)" }.joined(separator: " AND ")
            let hasChildren = children.contains { $0.0.parent == below }
            let select = BoundStatement(try db.cachedStatement(sql: "SELECT \(definition.key.map(SQL.quote).joined(separator: ", ")) FROM \(table) WHERE \(linkMatch)"), db)
            let delete = BoundStatement(try db.cachedStatement(sql: "DELETE FROM \(table) WHERE \(linkMatch)"), db)
            var removed: [[SQLValue]] = []
            for parent in parents {
                if hasChildren {
                    for (position, value) in parent.enumerated() { select.bind(value, at: Int32(position + 1)) }
                    try select.forEachRow { row in removed.append((0..<Int32(definition.key.count)).map { row.column($0) }) }
                }
                for (position, value) in parent.enumerated() { delete.bind(value, at: Int32(position + 1)) }
                counts.deleted[definition.name, default: 0] += try delete.execute()
            }
            try removeDescendants(of: removed, at: below, children, db, counts: &counts)
        }
    }
}
