import Foundation
import GRDB
import SheetSyncCore

/// Skipping unchanged records (issue 17): the rule that keeps it safe.
///
/// A pull job with `skip_unchanged: true` digests each record as the API sent it (the job's
/// mapping, and the response's status and headers when it maps them, go into the digest too:
/// `RecordDigester`) and stores, after each page, the digest of every record it wrote, with
/// the row's key and the record's cursor value, in `_sheetsync_digests`. The next sync
/// does not even parse a record whose digest is stored: the same bytes make the same row
/// and child rows. The row and its child rows (their counts are stored too) are counted
/// unchanged, its stored cursor value moves the cursor, and nothing is written.
///
/// The page reader reads each record's key alone (a projection of the key fields), and looks
/// its digest up outside the page's transaction (a hint, so that it need not parse what it
/// skips); the page's transaction confirms each skip
/// (`confirmUnchanged`) before writing anything, and a record whose digest is gone by then
/// (another writer, or an earlier page of the same run, wrote its row) is mapped and
/// written after all. A skipped record and a mapped one with the same key in one batch are
/// both mapped, in order, so the later one wins as it does without skipping.
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
///
/// Whole pages (a page held in memory, the usual case): the page's bytes are digested too
/// (`RecordDigester.pageDigest`). A page is stored in `_sheetsync_page_digests` (its record
/// count, largest cursor value, child row counts and the page without its records) once
/// every record of it is stored or confirmed with it, each record's digest naming the page
/// (`page`); triggers on `_sheetsync_digests` drop the page's digest the moment one of its
/// records' digests is deleted (by a guard: someone else wrote the row) or changes or moves
/// to another page (a later page wrote the same key). The next sync reads nothing of a page
/// whose digest is stored: it counts its records unchanged in the page's transaction after
/// confirming the page's digest is still there, and reads the page record by record if it
/// is gone. A page with any record written (a changed record) is stored only when all of
/// its other records already name it; a later sync of the same bytes, whose records are
/// then all confirmed, moves them to the page and stores it. A page with a rejected record
/// or two records with one key is never stored whole.
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
        try db.execute(sql: "DELETE FROM _sheetsync_page_digests")
    }

    static func literal(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "'", with: "''") + "'"
    }
}

extension WorksheetDatabase {
    /// What is stored for each of `keys` (row keys of `worksheet`, converted as its rows'
    /// are): nil for none. Read outside any page's transaction: a hint for the page
    /// reader, which the page's own transaction confirms (`PageSink.confirmUnchanged`).
    public func storedDigests(keys: [[SQLValue]], worksheet: String) throws(StoreError) -> [RecordDigest?] {
        guard let width = keys.first?.count else { return [] }
        return try read { db in
            let lookup = BoundStatement(try db.cachedStatement(sql: "SELECT digest, cursor, child_rows FROM _sheetsync_digests WHERE worksheet = ?1 AND key = \(Self.keyArray(width))"), db)
            lookup.bind(worksheet, at: 1)
            return try keys.map { key in
                for (position, value) in key.enumerated() { lookup.bind(value, at: Int32(position + 2)) }
                var found: RecordDigest?
                try lookup.forEachRow { row in
                    guard case .blob(let digest) = row.column(0) else { return }
                    let cursor: String? = if case .text(let text) = row.column(1) { text } else { nil }
                    let children: [Int] = if case .text(let counts) = row.column(2) { counts.split(separator: ",").compactMap { Int($0) } } else { [] }
                    found = RecordDigest(digest: digest, cursor: cursor, childRows: children)
                }
                return found
            }
        }
    }

    /// What is stored for the page whose digest is `digest`, nil for nothing: a hint read
    /// outside any page's transaction, confirmed in it (`PageSink.confirmUnchangedPage`).
    /// Values are cast in SQL: the table is anyone's to write, and a value of another type
    /// must not stop the run.
    public func storedPage(_ digest: [UInt8], worksheet: String) throws(StoreError) -> PageDigest? {
        try read { db in
            guard let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT CAST(records AS INTEGER) AS records, CAST(cursor AS TEXT) AS cursor, CAST(outline AS TEXT) AS outline FROM _sheetsync_page_digests WHERE worksheet = ? AND digest = ?"),
                                             arguments: [worksheet, Data(digest)]) else { return nil }
            return PageDigest(digest: digest, records: row["records"] ?? 0, cursor: row["cursor"], outline: row["outline"] ?? "")
        }
    }

    /// `json_array(?2, …)` for a key of `width` values bound from the second parameter on:
    /// the key as the guards compare it (`json_array` of the stored values).
    static func keyArray(_ width: Int) -> String {
        "json_array(\((0..<width).map { "?\($0 + 2)" }.joined(separator: ", ")))"
    }
}

extension PageSink {
    /// Confirms, in the page's transaction, that each of `digests` (records the reader
    /// skipped) is still stored — the row is as that record made it, nobody wrote it
    /// since — and counts those as unchanged. Returns the positions of the others: the
    /// caller maps and writes them.
    ///
    /// `children` names the job's child worksheets, whose rows the stored counts are of.
    public func confirmUnchanged(_ records: (keys: [[SQLValue]], digests: [[UInt8]]), children: [String]) throws -> [Int] {
        guard let width = records.keys.first?.count else { return [] }
        // The digests of rows this page wrote already (earlier batches of a large page) go
        // in first: a skipped record whose row an earlier batch rewrote is stale, and is
        // written again, so the later record wins.
        try storeDigests()
        let check = BoundStatement(try db.cachedStatement(sql: """
            SELECT child_rows, page FROM _sheetsync_digests WHERE worksheet = ?1 AND key = \(WorksheetDatabase.keyArray(width)) AND digest = ?\(width + 2)
            """), db)
        check.bind(worksheet.name, at: 1)
        var stale: [Int] = []
        var childRows = Array(repeating: 0, count: children.count)
        for (position, (key, digest)) in zip(records.keys, records.digests).enumerated() {
            for (index, value) in key.enumerated() { check.bind(value, at: Int32(index + 2)) }
            check.bind(.blob(digest), at: Int32(width + 2))
            var found = false
            try check.forEachRow { row in
                found = true
                var rows: [Int] = []
                if case .text(let counts) = row.column(0) { rows = counts.split(separator: ",").map { Int($0) ?? 0 } }
                for (level, count) in rows.enumerated() where level < childRows.count { childRows[level] += count }
                if let page {
                    pageKeys.insert(key)
                    addPageChildRows(rows)
                    if row.column(1) != .blob(page.digest) { pageMovedKeys.append(key) }
                }
            }
            if !found { stale.append(position) }
        }
        counts.byWorksheet[worksheet.name, default: UpsertCounts()].unchanged += records.keys.count - stale.count
        for (name, count) in zip(children, childRows) { counts.byWorksheet[name, default: UpsertCounts()].unchanged += count }
        return stale
    }

    /// In the page's transaction: whether the whole page (`page`) is still stored — every
    /// record of it as it made its rows, nobody wrote them since — and if so counts its
    /// records and their child rows unchanged. When it returns false the caller reads the
    /// page record by record and writes it.
    public func confirmUnchangedPage(children: [String]) throws -> Bool {
        guard let page else { return false }
        guard let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT CAST(records AS INTEGER) AS records, CAST(child_rows AS TEXT) AS child_rows FROM _sheetsync_page_digests WHERE worksheet = ? AND digest = ?"),
                                         arguments: [worksheet.name, Data(page.digest)]) else { return false }
        // Numbers from a table anyone may write: never below zero.
        counts.byWorksheet[worksheet.name, default: UpsertCounts()].unchanged += max(0, row["records"] as Int? ?? 0)
        let rows = (row["child_rows"] as String?)?.split(separator: ",").map { max(0, Int($0) ?? 0) } ?? []
        for (name, count) in zip(children, rows) { counts.byWorksheet[name, default: UpsertCounts()].unchanged += count }
        self.page = nil  // nothing to store again
        return true
    }

    private func addPageChildRows(_ rows: [Int]) {
        if pageChildRows.count < rows.count { pageChildRows += Array(repeating: 0, count: rows.count - pageChildRows.count) }
        for (level, count) in rows.enumerated() { pageChildRows[level] += count }
    }

    /// Keeps the digests of rows about to be written, to store after the page's writes.
    func keepDigests(of rows: RowBatch) {
        guard rows.digests.count == rows.rows.count, !rows.digests.isEmpty else { return }
        let keyIndexes = worksheet.key.compactMap { rows.columns.firstIndex(of: $0) }
        guard keyIndexes.count == worksheet.key.count else { return }
        for (index, row) in rows.rows.enumerated() where !rows.digests[index].digest.isEmpty {
            let key = keyIndexes.map { row[$0] }
            pendingDigests.append((key, rows.digests[index]))
            if page != nil {
                pageKeys.insert(key)
                addPageChildRows(rows.digests[index].childRows)
                pageWroteRecords = true
            }
        }
    }

    /// Whether a key's values are stored as they are bound (same storage class): then the
    /// key as the guards compute it (`json_array` of the stored values) is built from them
    /// without reading the row back. Not so for a `number` key (stored as REAL whatever was
    /// bound), nor for `insert` or `update`, which may leave no row.
    var keysBindAsStored: Bool {
        let boundTypes: Set<FieldType> = [.text, .integer, .boolean, .decimal, .date, .datetime]
        return mode == .upsert && worksheet.key.allSatisfy { worksheet.field(named: $0).map { boundTypes.contains($0.type) } ?? false }
    }

    /// Stores the page's digest when every record of it is stored or confirmed with it (see
    /// the rule above): records confirmed with another page's digest are moved to this one
    /// first, when the page wrote none (a page with changes waits for a sync that confirms
    /// it whole, so a sync with changes spread over every page does no extra writes).
    func storePageDigest() throws {
        guard let page, keysBindAsStored, !pageRejected, pageKeys.count == page.records else { return }
        let width = worksheet.key.count
        if !pageMovedKeys.isEmpty {
            guard !pageWroteRecords else { return }
            let move = BoundStatement(try db.cachedStatement(sql: """
                UPDATE _sheetsync_digests SET page = ?1 WHERE worksheet = ?\(width + 2) AND key = \(WorksheetDatabase.keyArray(width))
                """), db)
            move.bind(.blob(page.digest), at: 1)
            move.bind(worksheet.name, at: Int32(width + 2))
            for key in pageMovedKeys {
                for (position, value) in key.enumerated() { move.bind(value, at: Int32(position + 2)) }
                _ = try move.execute()
            }
        }
        try db.execute(sql: """
            INSERT OR REPLACE INTO _sheetsync_page_digests (worksheet, digest, records, cursor, child_rows, outline) VALUES (?, ?, ?, ?, ?, ?)
            """, arguments: [worksheet.name, Data(page.digest), page.records, page.cursor,
                             pageChildRows.isEmpty ? nil : pageChildRows.map(String.init).joined(separator: ","), page.outline])
    }

    /// Stores the digests of the records this page wrote (after their children, whose
    /// writes did not touch them: the page's transaction is marked), each replacing the
    /// one stored for its row. A row the page did not leave in the worksheet (`write:
    /// update` found none) gets no digest.
    func storeDigests() throws {
        guard !pendingDigests.isEmpty else { return }
        let key = worksheet.key
        let store: BoundStatement
        // An update, not a replace, of a stored digest: the triggers that drop the digest of
        // the page it named see it (a replace's delete fires no trigger).
        let replace = "ON CONFLICT (worksheet, key) DO UPDATE SET digest = excluded.digest, cursor = excluded.cursor, child_rows = excluded.child_rows, page = excluded.page"
        if keysBindAsStored {
            store = BoundStatement(try db.cachedStatement(sql: """
                INSERT INTO _sheetsync_digests (worksheet, digest, cursor, child_rows, page, key) VALUES (?1, ?2, ?3, ?4, ?5, json_array(\((0..<key.count).map { "?\($0 + 6)" }.joined(separator: ", ")))) \(replace)
                """), db)
        } else {
            let match = key.enumerated().map { "t.\(SQL.quote($0.element)) = ?\($0.offset + 6)" }.joined(separator: " AND ")
            store = BoundStatement(try db.cachedStatement(sql: """
                INSERT INTO _sheetsync_digests (worksheet, digest, cursor, child_rows, page, key)
                SELECT ?1, ?2, ?3, ?4, ?5, json_array(\(key.map { "t.\(SQL.quote($0))" }.joined(separator: ", "))) FROM \(SQL.quote(worksheet.name)) t WHERE \(match) \(replace)
                """), db)
        }
        store.bind(worksheet.name, at: 1)
        store.bind(page.map { .blob($0.digest) } ?? .null, at: 5)
        for (keyValues, digest) in pendingDigests {
            store.bind(.blob(digest.digest), at: 2)
            store.bind(digest.cursor.map(SQLValue.text) ?? .null, at: 3)
            store.bind(digest.childRows.isEmpty ? .null : .text(digest.childRows.map(String.init).joined(separator: ",")), at: 4)
            for (position, value) in keyValues.enumerated() { store.bind(value, at: Int32(position + 6)) }
            _ = try store.execute()
        }
        pendingDigests = []
    }
}
