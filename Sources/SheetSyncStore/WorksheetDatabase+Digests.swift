import Foundation
import GRDB
import SheetSyncCore

/// Skipping unchanged records (issue 17): the rule that keeps it safe.
///
/// A pull job whose records carry digests (`RowBatch.digests`) stores, after each page, the
/// digest of every record it wrote or found unchanged, keyed by worksheet and row key, in
/// `_sheetsync_digests`. The next sync skips a record whose digest is stored for its key:
/// the row and its children are counted unchanged and nothing is written.
///
/// A row changed by anyone else is never skipped: triggers on the job's worksheet (update,
/// delete) and on each child worksheet (insert, update, delete) delete the digest of the
/// row concerned — the parent's, for a child row — whenever the write does not come from a
/// pull page's own transaction (the `sqlite3` shell, another tool, `query --write`, a push
/// job's write-back). A page marks its transaction with a row in `_sheetsync_writing` that is
/// deleted before it commits, so no other connection ever sees it. Keys are compared as the
/// worksheet stores them (`json_array` of the stored values, on both sides). A schema change
/// (`migrate`) drops every digest and guard; the next run of the job makes its guards again
/// before it reads or stores a digest.
extension WorksheetDatabase {
    /// One worksheet a pull job writes and its direct child worksheets, each with the
    /// columns linking it to the parent's key (child column, parent key field).
    public struct DigestFamily: Sendable {
        public var worksheet: WorksheetDefinition
        public var children: [(worksheet: WorksheetDefinition, links: [(column: String, parentKey: String)])]

        public init(worksheet: WorksheetDefinition, children: [(worksheet: WorksheetDefinition, links: [(column: String, parentKey: String)])]) {
            self.worksheet = worksheet
            self.children = children
        }
    }

    static let digestTriggerPrefix = "_sheetsync_digest_"

    /// Makes the triggers that delete digests when others write `family`'s rows (those
    /// missing: triggers already there stay).
    public func guardDigests(_ family: DigestFamily) throws(StoreError) {
        try write { db in
            for statement in Self.guardSQL(family) { try db.execute(sql: statement) }
        }
    }

    static func guardSQL(_ family: DigestFamily) -> [String] {
        let parent = family.worksheet
        let name = literal(parent.name)
        let table = SQL.quote(parent.name)
        let outside = "WHEN NOT EXISTS (SELECT 1 FROM _sheetsync_writing)"
        func ownKey(_ row: String) -> String {
            "json_array(\(parent.key.map { "\(row).\(SQL.quote($0))" }.joined(separator: ", ")))"
        }
        var statements: [String] = []
        for event in ["UPDATE", "DELETE"] {
            statements.append("""
                CREATE TRIGGER IF NOT EXISTS \(SQL.quote(digestTriggerPrefix + parent.name + "_" + event.lowercased())) AFTER \(event) ON \(table) \(outside)
                BEGIN DELETE FROM _sheetsync_digests WHERE worksheet = \(name) AND key = \(ownKey("OLD")); END
                """)
        }
        for (child, links) in family.children {
            func parentOf(_ row: String) -> String {
                let match = links.map { "p.\(SQL.quote($0.parentKey)) = \(row).\(SQL.quote($0.column))" }.joined(separator: " AND ")
                return "DELETE FROM _sheetsync_digests WHERE worksheet = \(name) AND key IN (SELECT \(ownKey("p")) FROM \(table) p WHERE \(match));"
            }
            for (event, rows) in [("INSERT", ["NEW"]), ("UPDATE", ["OLD", "NEW"]), ("DELETE", ["OLD"])] {
                let trigger = digestTriggerPrefix + child.name + "_" + parent.name + "_" + event.lowercased()
                statements.append("""
                    CREATE TRIGGER IF NOT EXISTS \(SQL.quote(trigger)) AFTER \(event) ON \(SQL.quote(child.name)) \(outside)
                    BEGIN \(rows.map(parentOf).joined(separator: " ")) END
                    """)
            }
        }
        return statements
    }

    /// Drops every digest guard and every digest.
    static func dropDigestGuards(_ db: Database) throws {
        let triggers = try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'trigger' AND substr(name, 1, ?) = ?",
                                           arguments: [digestTriggerPrefix.count, digestTriggerPrefix])
        for trigger in triggers { try db.execute(sql: "DROP TRIGGER IF EXISTS \(SQL.quote(trigger))") }
        try db.execute(sql: "DELETE FROM _sheetsync_digests")
    }

    static func literal(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "'", with: "''") + "'"
    }
}

extension PageSink {
    /// `rows` without the records whose digest is stored for their key (unchanged since
    /// the last sync, and not written by anyone since); their keys go to
    /// `unchangedParents`, the digests of the others to `pendingDigests`.
    func skippingUnchanged(_ rows: RowBatch) throws -> RowBatch {
        guard rows.digests.count == rows.rows.count else { return rows }
        let key = worksheet.key
        let keyIndexes = key.compactMap { rows.columns.firstIndex(of: $0) }
        guard keyIndexes.count == key.count else { return rows }
        let table = SQL.quote(worksheet.name)
        let match = key.enumerated().map { "t.\(SQL.quote($0.element)) = ?\($0.offset + 2)" }.joined(separator: " AND ")
        let lookup = BoundStatement(try db.cachedStatement(sql: """
            SELECT d.digest FROM \(table) t JOIN _sheetsync_digests d
            ON d.worksheet = ?1 AND d.key = json_array(\(key.map { "t.\(SQL.quote($0))" }.joined(separator: ", "))) WHERE \(match)
            """), db)
        lookup.bind(worksheet.name, at: 1)
        var changed = RowBatch(columns: rows.columns)
        var unchanged = 0
        // A batch whose first record has no digest stored is taken for new records (a first
        // load): not looked up one by one. A record missed so is only compared as before.
        var lookUp = true
        for (index, (row, digest)) in zip(rows.rows, rows.digests).enumerated() {
            let keyValues = keyIndexes.map { row[$0] }
            if !digest.isEmpty, lookUp {
                for (position, value) in keyValues.enumerated() { lookup.bind(value, at: Int32(position + 2)) }
                var stored: SQLValue = .null
                try lookup.forEachRow { result in stored = result.column(0) }
                if stored == .blob(digest) {
                    unchanged += 1
                    unchangedParents.append(keyValues)
                    continue
                }
                if index == 0, stored == .null { lookUp = false }
            }
            if !digest.isEmpty { pendingDigests.append((keyValues, digest)) }
            changed.rows.append(row)
        }
        counts.byWorksheet[worksheet.name, default: UpsertCounts()].unchanged += unchanged
        return changed
    }

    /// Stores the digests of the records this page wrote (after their children, whose
    /// writes did not touch them: the page's transaction is marked).
    func storeDigests() throws {
        guard !pendingDigests.isEmpty else { return }
        let key = worksheet.key
        let match = key.enumerated().map { "t.\(SQL.quote($0.element)) = ?\($0.offset + 3)" }.joined(separator: " AND ")
        let store = BoundStatement(try db.cachedStatement(sql: """
            INSERT OR REPLACE INTO _sheetsync_digests (worksheet, key, digest)
            SELECT ?1, json_array(\(key.map { "t.\(SQL.quote($0))" }.joined(separator: ", "))), ?2 FROM \(SQL.quote(worksheet.name)) t WHERE \(match)
            """), db)
        store.bind(worksheet.name, at: 1)
        for (keyValues, digest) in pendingDigests {
            store.bind(.blob(digest), at: 2)
            for (position, value) in keyValues.enumerated() { store.bind(value, at: Int32(position + 3)) }
            _ = try store.execute()
        }
        pendingDigests = []
    }
}
