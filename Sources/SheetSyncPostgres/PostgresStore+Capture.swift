import SheetSyncCore
import SheetSyncStore

/// Change capture on PostgreSQL: triggers calling `_sheetsync_capture()` (PostgresMigrations
/// v2) on every worksheet a push job reads, so any writer's change (psql, another
/// application, sheetsync's own pull) lands in `_sheetsync_outbox` in the writer's own
/// transaction, as SQLite's triggers do.
extension PostgresStore {
    static let capturePrefix = "_sheetsync_capture_"

    /// The statements creating the three triggers of `worksheet`, by trigger name. Each
    /// name ends with a hash of what it creates: `migrate` runs before every job, and
    /// replacing triggers takes a lock that waits for (and blocks) every reader of the
    /// table, so unchanged triggers are left alone.
    static func captureTriggers(for worksheet: WorksheetDefinition) -> [String: String] {
        let table = quote(worksheet.name)
        let arguments = ([worksheet.name] + worksheet.key).map(literal).joined(separator: ", ")
        let fields = worksheet.fields.map { quote($0.name) }
        let changed = "ROW(\(fields.map { "OLD." + $0 }.joined(separator: ", ")), NULL) IS DISTINCT FROM ROW(\(fields.map { "NEW." + $0 }.joined(separator: ", ")), NULL)"
        var triggers: [String: String] = [:]
        for (event, when) in [("insert", ""), ("update", " WHEN (\(changed))"), ("delete", "")] {
            let body = "AFTER \(event.uppercased()) ON \(table) FOR EACH ROW\(when) EXECUTE FUNCTION _sheetsync_capture(\(arguments))"
            let name = capturePrefix + event + "_" + fingerprint(body)
            triggers[name] = "CREATE TRIGGER \(quote(name)) \(body)"
        }
        return triggers
    }

    /// A PostgreSQL string literal.
    static func literal(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "'", with: "''") + "'"
    }

    /// 16 hex digits of FNV-1a over `text`: names a trigger's definition, not a secret.
    static func fingerprint(_ text: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01B3
        }
        let digits = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }

    /// Brings the capture triggers in line: those of `captured` worksheets as they should
    /// be, none on the others (a worksheet no push job reads any more is not captured).
    static func installCapture(_ worksheets: [WorksheetDefinition], captured: Set<String>, _ db: PostgresSession.Connection) throws {
        let existing = try captureTriggers(db)
        let wanted = Dictionary(uniqueKeysWithValues: worksheets.filter { captured.contains($0.name) }.map { ($0.name, captureTriggers(for: $0)) })
        for (table, triggers) in existing.sorted(by: { $0.key < $1.key }) {
            for trigger in triggers.sorted() where wanted[table]?[trigger] == nil {
                try db.execute("DROP TRIGGER \(quote(trigger)) ON \(quote(table))")
            }
        }
        for (table, triggers) in wanted.sorted(by: { $0.key < $1.key }) {
            for (name, sql) in triggers.sorted(by: { $0.key < $1.key }) where existing[table]?.contains(name) != true {
                try db.execute(sql)
            }
        }
    }

    /// The capture triggers there are, by table.
    static func captureTriggers(_ db: PostgresSession.Connection) throws -> [String: Set<String>] {
        var existing: [String: Set<String>] = [:]
        for row in try db.rows("""
            SELECT c.relname::text, t.tgname::text FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
            WHERE NOT t.tgisinternal AND c.relnamespace = current_schema()::regnamespace AND t.tgname LIKE '\\_sheetsync\\_capture\\_%'
            """) {
            if let table = row[0], let trigger = row[1] { existing[table, default: []].insert(trigger) }
        }
        return existing
    }

    /// Drops the capture triggers of `tables`: PostgreSQL refuses to retype or drop a
    /// column a trigger's WHEN clause reads. `installCapture` makes them again, in the
    /// same transaction (no change goes uncaptured).
    static func dropCapture(on tables: Set<String>, _ db: PostgresSession.Connection) throws {
        for (table, triggers) in try captureTriggers(db).sorted(by: { $0.key < $1.key }) where tables.contains(table) {
            for trigger in triggers.sorted() { try db.execute("DROP TRIGGER \(quote(trigger)) ON \(quote(table))") }
        }
    }

    /// Registers push jobs without an outbox position at their worksheet's newest change
    /// (see `WorksheetDatabase.registerPushJobs`).
    static func registerPushJobs(_ jobs: [String: String], _ db: PostgresSession.Connection) throws {
        for (job, worksheet) in jobs.sorted(by: { $0.key < $1.key }) {
            try db.execute("""
                INSERT INTO _sheetsync_state (job, name, value)
                SELECT $1, $2, coalesce((SELECT max(seq) FROM _sheetsync_outbox WHERE worksheet = $3), 0)::text
                ON CONFLICT (job, name) DO NOTHING
                """, [.text(job), .text(StateKey.outboxPosition), .text(worksheet)])
        }
    }

    /// Changes of `worksheet` not yet delivered, per job (see `WorksheetDatabase.undelivered`).
    static func undelivered(worksheet: String, jobs: [String], _ db: PostgresSession.Connection) throws -> [(job: String, count: Int)] {
        var found: [(job: String, count: Int)] = try db.rows("""
            SELECT job, count(*) FROM _sheetsync_deliveries WHERE worksheet = $1 AND state = 'pending' GROUP BY job ORDER BY job
            """, [.text(worksheet)]).map { ($0[0] ?? "", Int($0[1] ?? "") ?? 0) }
        for job in jobs {
            let waiting = Int(try db.firstValue("""
                SELECT count(*) FROM _sheetsync_outbox WHERE worksheet = $1 AND (origin IS NULL OR origin <> $2)
                    AND seq > coalesce((SELECT value::bigint FROM _sheetsync_state WHERE job = $2 AND name = $3), 0)
                """, [.text(worksheet), .text(job), .text(StateKey.outboxPosition)]) ?? "") ?? 0
            guard waiting > 0 else { continue }
            if let index = found.firstIndex(where: { $0.job == job }) { found[index].count += waiting } else { found.append((job, waiting)) }
        }
        return found
    }
}
