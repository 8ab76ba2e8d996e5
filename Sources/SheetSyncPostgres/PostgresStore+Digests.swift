import Foundation
import SheetSyncCore
import SheetSyncStore

/// Skipping unchanged records (`skip_unchanged`) on PostgreSQL, by the rule SQLite's
/// `WorksheetDatabase+Digests` states: a record whose digest is stored is not parsed, its
/// row and child rows are counted unchanged, and nothing is written — as long as nobody
/// else wrote them since. Differences:
///
/// - keys are `jsonb_build_array(key columns)::text`, computed alike from values bound and
///   cast to the columns' types, from rows, and in the guards (`jsonb`'s text is canonical);
///   a key with a `datetime` or `number` field is refused (their JSON text depends on the
///   session's time zone and float settings, and a guard in a user's session must compute
///   the same key as sheetsync's);
/// - digests are hex text;
/// - the guards are one PL/pgSQL function (`_sheetsync_digest_guard`, migration v5) with the
///   parent worksheet, its key and, for a child worksheet, the links as trigger arguments;
///   a page's own transaction is marked with `set_config('sheetsync.writing', 'page', true)`
///   (SQLite's `_sheetsync_writing` row), which ends with the transaction.
extension PostgresStore {
    static let digestTriggerPrefix = "_sheetsync_digest_"
    static let digestKeyTypes: Set<FieldType> = [.text, .integer, .boolean, .decimal, .date]

    public func guardDigests(_ family: WorksheetDatabase.DigestFamily) throws(StoreError) {
        let worksheet = family.worksheet
        for name in worksheet.key {
            guard let type = worksheet.field(named: name)?.type, Self.digestKeyTypes.contains(type) else {
                throw StoreError(.unsupported, "skip_unchanged on PostgreSQL needs a key of text, integer, decimal, boolean or date fields; '\(name)' of worksheet '\(worksheet.name)' is not one. Turn skip_unchanged off for this job, or use an SQLite file")
            }
        }
        let wanted = Self.guardTriggers(family)
        let existing = try read { db in try Self.digestGuards(db) }
        guard wanted.contains(where: { !existing.contains($0.name) }) else { return }
        try write { db in
            let present = try Self.digestGuards(db)
            for trigger in wanted where !present.contains(trigger.name) { try db.execute(trigger.sql) }
        }
    }

    /// The guard triggers of `family`, each named with a hash of its definition.
    static func guardTriggers(_ family: WorksheetDatabase.DigestFamily) -> [(name: String, sql: String)] {
        let parent = family.worksheet
        var triggers: [(String, String, String)] = []
        let keyArguments = parent.key.map(literal)
        triggers.append((parent.name, "AFTER UPDATE OR DELETE",
                         ([literal(parent.name), "'key'"] + keyArguments).joined(separator: ", ")))
        for (child, links) in family.children {
            let pairs = links.flatMap { [literal($0.column), literal($0.parentKey)] }
            triggers.append((child.name, "AFTER INSERT OR UPDATE OR DELETE",
                             ([literal(parent.name), "'child'", literal(String(parent.key.count))] + keyArguments + pairs).joined(separator: ", ")))
        }
        return triggers.map { table, events, arguments in
            let body = "\(events) ON \(quote(table)) FOR EACH ROW EXECUTE FUNCTION _sheetsync_digest_guard(\(arguments))"
            let name = digestTriggerPrefix + fingerprint(table + "|" + body)
            return (name, "CREATE TRIGGER \(quote(name)) \(body)")
        }
    }

    static func digestGuards(_ db: PostgresSession.Connection) throws -> Set<String> {
        Set(try db.rows("""
            SELECT t.tgname::text FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
            WHERE NOT t.tgisinternal AND c.relnamespace = current_schema()::regnamespace AND t.tgname LIKE '\\_sheetsync\\_digest\\_%'
            """).compactMap { $0[0] })
    }

    /// Drops every digest guard and every digest (a schema change: see `migrate`).
    static func dropDigestGuards(_ db: PostgresSession.Connection) throws {
        for row in try db.rows("""
            SELECT t.tgname::text, c.relname::text FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
            WHERE NOT t.tgisinternal AND c.relnamespace = current_schema()::regnamespace AND t.tgname LIKE '\\_sheetsync\\_digest\\_%'
            """) {
            guard let trigger = row[0], let table = row[1] else { continue }
            try db.execute("DROP TRIGGER IF EXISTS \(quote(trigger)) ON \(quote(table))")
        }
        try db.execute("DELETE FROM _sheetsync_digests")
        try db.execute("DELETE FROM _sheetsync_page_digests")
    }

    /// Lower-case hex, by table: `String(format: "%02x")` a byte at a time cost seconds of
    /// CPU over a first load of 200,000 records (a digest each, 32 bytes).
    static func hex(_ bytes: some Collection<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    static func bytes(hex text: String) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count / 2)
        var index = text.startIndex
        while index < text.endIndex, let next = text.index(index, offsetBy: 2, limitedBy: text.endIndex) {
            guard let byte = UInt8(text[index..<next], radix: 16) else { return [] }
            bytes.append(byte)
            index = next
        }
        return bytes
    }

    /// The stored digests of `keys` (a hint read outside any page's transaction).
    public func storedDigests(keys: [[SQLValue]], worksheet name: String) throws(StoreError) -> [RecordDigest?] {
        guard !keys.isEmpty else { return [] }
        return try read { db in
            let definition = try Self.definition(of: name, db)
            var found: [RecordDigest?] = []
            for chunk in stride(from: 0, to: keys.count, by: 2_000).map({ Array(keys[$0..<min($0 + 2_000, keys.count)]) }) {
                let rows = try Self.lookUp(chunk, digests: nil, in: definition, columns: "d.digest, d.cursor, d.child_rows", db)
                found += rows.map { row in
                    guard let row, let digest = row[0] else { return nil }
                    let children = (row[2] ?? "").split(separator: ",").compactMap { Int($0) }
                    return RecordDigest(digest: Self.bytes(hex: digest), cursor: row[1], childRows: children)
                }
            }
            return found
        }
    }

    /// For each key (and digest, when given), the columns of its stored digest, or nil. One
    /// statement: the keys as one array per key column (`unnest`), joined on the key text
    /// the guards compute (a `VALUES` list of 500 cast tuples cost the server more to parse).
    static func lookUp(_ keys: [[SQLValue]], digests: [[UInt8]]?, in worksheet: WorksheetDefinition, columns: String,
                       _ db: PostgresSession.Connection) throws -> [[String?]?] {
        let width = worksheet.key.count
        var found = [[String?]?](repeating: nil, count: keys.count)
        let positions = keys.indices.filter { keys[$0].count == width }
        guard !positions.isEmpty, width > 0 else { return found }
        let keyColumns = (0..<width).map { "k\($0)" }
        var arrays = ["$2::integer[]"]
        var names = ["pos"]
        var values: [SQLValue] = [.text(worksheet.name), .text(PostgresPageWriter.arrayLiteral(positions.map { .integer(Int64($0)) }))]
        if let digests {
            arrays.append("$3::text[]")
            names.append("digest")
            values.append(.text(PostgresPageWriter.arrayLiteral(positions.map { .text(hex(digests[$0])) })))
        }
        for (column, name) in worksheet.key.enumerated() {
            arrays.append("$\(values.count + 1)::\(PostgresPageWriter.cast(name, in: worksheet))[]")
            names.append("k\(column)")
            values.append(.text(PostgresPageWriter.arrayLiteral(positions.map { keys[$0][column] })))
        }
        let digestMatch = digests == nil ? "" : " AND d.digest = u.digest"
        let rows = try db.rows("""
            SELECT u.pos, \(columns) FROM unnest(\(arrays.joined(separator: ", "))) AS u(\(names.joined(separator: ", ")))
            JOIN _sheetsync_digests d ON d.worksheet = $1 AND d.key = jsonb_build_array(\(keyColumns.map { "u." + $0 }.joined(separator: ", ")))::text\(digestMatch)
            """, values)
        for row in rows {
            guard let position = row[0].flatMap({ Int($0) }), position < found.count else { continue }
            found[position] = Array(row.dropFirst())
        }
        return found
    }

    /// The worksheet as sheetsync recorded it (its key and field types), for casting keys.
    static func definition(of name: String, _ db: PostgresSession.Connection) throws -> WorksheetDefinition {
        var fields: [WorksheetDefinition.Field] = []
        for row in try db.rows("SELECT name, type FROM _sheetsync_fields WHERE worksheet = $1 ORDER BY position", [.text(name)]) {
            guard let field = row[0], let type = row[1].flatMap(FieldType.init(rawValue:)) else { continue }
            fields.append(WorksheetDefinition.Field(name: field, type: type))
        }
        var key: [String] = []
        if let text = try db.firstValue("SELECT key FROM _sheetsync_worksheets WHERE name = $1", [.text(name)]),
           case .array(let values)? = try? JSONReader.parse(text) {
            key = values.compactMap { if case .string(let name) = $0 { name } else { nil } }
        }
        return WorksheetDefinition(name: name, key: key, fields: fields)
    }

    public func storedPage(_ digest: [UInt8], worksheet: String) throws(StoreError) -> PageDigest? {
        try read { db in
            guard let row = try db.rows("""
                SELECT records, cursor, outline FROM _sheetsync_page_digests WHERE worksheet = $1 AND digest = $2
                """, [.text(worksheet), .text(Self.hex(digest))]).first else { return nil }
            return PageDigest(digest: digest, records: Int(row[0] ?? "") ?? 0, cursor: row[1], outline: row[2] ?? "")
        }
    }
}

/// The digests of a page on PostgreSQL (see `PageSink`'s for SQLite): kept while rows are
/// written, stored at the end of the page's transaction, confirmed for records the reader
/// skipped.
extension PostgresPageWriter {
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

    private func addPageChildRows(_ rows: [Int]) {
        if pageChildRows.count < rows.count { pageChildRows += Array(repeating: 0, count: rows.count - pageChildRows.count) }
        for (level, count) in rows.enumerated() { pageChildRows[level] += count }
    }

    /// Whether the digest's key is the key as bound (`upsert` leaves a row with it); else it
    /// is read from the row (`insert` or `update` may leave none).
    var keysBindAsStored: Bool { mode == .upsert }

    func confirmUnchanged(_ records: (keys: [[SQLValue]], digests: [[UInt8]]), children: [String]) throws -> [Int] {
        guard !records.keys.isEmpty else { return [] }
        try storeDigests()
        var stale: [Int] = []
        var childRows = Array(repeating: 0, count: children.count)
        for start in stride(from: 0, to: records.keys.count, by: 2_000) {
            let end = min(start + 2_000, records.keys.count)
            let found = try PostgresStore.lookUp(Array(records.keys[start..<end]), digests: Array(records.digests[start..<end]),
                                                 in: worksheet, columns: "d.child_rows, d.page", db)
            for (offset, row) in found.enumerated() {
                guard let row else {
                    stale.append(start + offset)
                    continue
                }
                let rows = (row[0] ?? "").split(separator: ",").map { Int($0) ?? 0 }
                for (level, count) in rows.enumerated() where level < childRows.count { childRows[level] += count }
                if let page {
                    pageKeys.insert(records.keys[start + offset])
                    addPageChildRows(rows)
                    if row[1] != PostgresStore.hex(page.digest) { pageMovedKeys.append(records.keys[start + offset]) }
                }
            }
        }
        counts.byWorksheet[worksheet.name, default: UpsertCounts()].unchanged += records.keys.count - stale.count
        for (name, count) in zip(children, childRows) { counts.byWorksheet[name, default: UpsertCounts()].unchanged += count }
        return stale
    }

    func confirmUnchangedPage(children: [String]) throws -> Bool {
        guard let page else { return false }
        guard let row = try db.rows("""
            SELECT records, child_rows FROM _sheetsync_page_digests WHERE worksheet = $1 AND digest = $2
            """, [.text(worksheet.name), .text(PostgresStore.hex(page.digest))]).first else { return false }
        counts.byWorksheet[worksheet.name, default: UpsertCounts()].unchanged += max(0, Int(row[0] ?? "") ?? 0)
        let rows = (row[1] ?? "").split(separator: ",").map { max(0, Int($0) ?? 0) }
        for (name, count) in zip(children, rows) { counts.byWorksheet[name, default: UpsertCounts()].unchanged += count }
        self.page = nil
        return true
    }

    /// Stores the digests of the records this page wrote, each replacing the one stored for
    /// its row (an update, so the page-digest trigger sees it), 2,000 to a statement: the
    /// values as one array per column (`unnest`, as the rows go in). A key twice in the page
    /// keeps its later record's digest (`DISTINCT ON … ORDER BY ord DESC`: one statement may
    /// not change a row twice). A row the page did not leave in the worksheet (`write:
    /// update` found none) gets no digest.
    func storeDigests() throws {
        guard !pendingDigests.isEmpty else { return }
        let table = PostgresStore.quote(worksheet.name)
        let keyColumns = worksheet.key.indices.map { "k\($0)" }
        let arrays = ["$3::text[]", "$4::text[]", "$5::text[]"]
            + worksheet.key.enumerated().map { "$\($0.offset + 6)::\(PostgresPageWriter.cast($0.element, in: worksheet))[]" }
        let key = keysBindAsStored
            ? "jsonb_build_array(\(keyColumns.map { "u." + $0 }.joined(separator: ", ")))::text"
            : "(SELECT jsonb_build_array(\(worksheet.key.map { "t." + PostgresStore.quote($0) }.joined(separator: ", ")))::text FROM \(table) t WHERE "
                + worksheet.key.enumerated().map { "t.\(PostgresStore.quote($0.element)) = u.k\($0.offset)" }.joined(separator: " AND ") + ")"
        let sql = """
            INSERT INTO _sheetsync_digests (worksheet, digest, cursor, child_rows, page, key)
            SELECT DISTINCT ON (s.key) $1, s.digest, s.cursor, s.child_rows, $2, s.key FROM (
                SELECT u.digest, u.cursor, u.child_rows, \(key) AS key, u.ord
                FROM unnest(\(arrays.joined(separator: ", "))) WITH ORDINALITY AS u(digest, cursor, child_rows, \(keyColumns.joined(separator: ", ")), ord)
            ) s WHERE s.key IS NOT NULL ORDER BY s.key, s.ord DESC
            ON CONFLICT (worksheet, key) DO UPDATE SET digest = excluded.digest, cursor = excluded.cursor, child_rows = excluded.child_rows, page = excluded.page
            """
        let pageHex: SQLValue = page.map { .text(PostgresStore.hex($0.digest)) } ?? .null
        for start in stride(from: 0, to: pendingDigests.count, by: 2_000) {
            let chunk = pendingDigests[start..<min(start + 2_000, pendingDigests.count)]
            var values: [SQLValue] = [.text(worksheet.name), pageHex]
            values.append(.text(PostgresPageWriter.arrayLiteral(chunk.map { .text(PostgresStore.hex($0.digest.digest)) })))
            values.append(.text(PostgresPageWriter.arrayLiteral(chunk.map { $0.digest.cursor.map(SQLValue.text) ?? .null })))
            values.append(.text(PostgresPageWriter.arrayLiteral(chunk.map {
                $0.digest.childRows.isEmpty ? .null : .text($0.digest.childRows.map(String.init).joined(separator: ","))
            })))
            for column in worksheet.key.indices {
                values.append(.text(PostgresPageWriter.arrayLiteral(chunk.map { $0.key[column] })))
            }
            try db.execute(sql, values)
        }
        pendingDigests = []
    }

    /// Stores the page's digest when every record of it is stored or confirmed with it (see
    /// `WorksheetDatabase+Digests`).
    func storePageDigest() throws {
        guard let page, keysBindAsStored, !pageRejected, pageKeys.count == page.records else { return }
        let pageHex = PostgresStore.hex(page.digest)
        if !pageMovedKeys.isEmpty {
            guard !pageWroteRecords else { return }
            // One statement: the keys as one array per key column, as `storeDigests` binds them.
            let arrays = worksheet.key.enumerated().map { "$\($0.offset + 3)::\(PostgresPageWriter.cast($0.element, in: worksheet))[]" }
            let columns = worksheet.key.indices.map { "k\($0)" }
            try db.execute("""
                UPDATE _sheetsync_digests SET page = $1 WHERE worksheet = $2 AND key IN (
                    SELECT jsonb_build_array(\(columns.map { "u." + $0 }.joined(separator: ", ")))::text
                    FROM unnest(\(arrays.joined(separator: ", "))) AS u(\(columns.joined(separator: ", "))))
                """, [.text(pageHex), .text(worksheet.name)] + worksheet.key.indices.map { column in
                    .text(PostgresPageWriter.arrayLiteral(pageMovedKeys.map { $0[column] }))
                })
        }
        try db.execute("""
            INSERT INTO _sheetsync_page_digests (worksheet, digest, records, cursor, child_rows, outline) VALUES ($1, $2, $3::integer, $4, $5, $6)
            ON CONFLICT (worksheet, digest) DO UPDATE SET records = excluded.records, cursor = excluded.cursor, child_rows = excluded.child_rows, outline = excluded.outline
            """, [.text(worksheet.name), .text(pageHex), .integer(Int64(page.records)), page.cursor.map(SQLValue.text) ?? .null,
                  pageChildRows.isEmpty ? .null : .text(pageChildRows.map(String.init).joined(separator: ",")), .text(page.outline)])
    }
}
