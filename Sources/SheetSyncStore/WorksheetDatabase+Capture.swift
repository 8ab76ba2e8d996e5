import GRDB
import SheetSyncCore

extension WorksheetDatabase {
    static let capturePrefix = "_sheetsync_capture_"

    /// The triggers that capture every change of `worksheet` into `_sheetsync_outbox`.
    ///
    /// They use only built-in SQL (`json_array`, `strftime`), so writes from any SQLite
    /// client are captured in the writer's own transaction (a rollback leaves nothing).
    /// The update trigger fires only when a user field really changed, so no-op
    /// updates and pull upserts of unchanged rows leave nothing. A key change is an
    /// update of the new key and a delete of the old one. `INSERT OR REPLACE` fires
    /// only the insert trigger unless `recursive_triggers` is on; the deliverer tells
    /// inserts from updates by what it delivered before, so that is still right.
    static func captureTriggers(for worksheet: WorksheetDefinition) -> [String] {
        let table = SQL.quote(worksheet.name)
        let name = SQL.literal(worksheet.name)
        func key(_ row: String) -> String { "json_array(" + worksheet.key.map { "\(row).\(SQL.quote($0))" }.joined(separator: ", ") + ")" }
        // Balanced ORs: a plain chain over a thousand fields is deeper than SQLite allows.
        let changed = SQL.any(worksheet.fields.map { "OLD.\(SQL.quote($0.name)) IS NOT NEW.\(SQL.quote($0.name))" })
        let keyChanged = SQL.any(worksheet.key.map { "OLD.\(SQL.quote($0)) IS NOT NEW.\(SQL.quote($0))" })
        let prefix = capturePrefix + worksheet.name
        return [
            """
            CREATE TRIGGER \(SQL.quote(prefix + "_insert")) AFTER INSERT ON \(table) BEGIN
                INSERT INTO _sheetsync_outbox (worksheet, record_key, operation) VALUES (\(name), \(key("NEW")), 'insert');
            END
            """,
            """
            CREATE TRIGGER \(SQL.quote(prefix + "_update")) AFTER UPDATE ON \(table) WHEN \(changed) BEGIN
                INSERT INTO _sheetsync_outbox (worksheet, record_key, operation)
                    SELECT \(name), \(key("OLD")), 'delete' WHERE \(keyChanged);
                INSERT INTO _sheetsync_outbox (worksheet, record_key, operation) VALUES (\(name), \(key("NEW")), 'update');
            END
            """,
            """
            CREATE TRIGGER \(SQL.quote(prefix + "_delete")) AFTER DELETE ON \(table) BEGIN
                INSERT INTO _sheetsync_outbox (worksheet, record_key, operation) VALUES (\(name), \(key("OLD")), 'delete');
            END
            """,
        ]
    }

    /// (Re)creates capture triggers for `captured` worksheets and drops them from the
    /// others. Run after every migration, so a worksheet that gains a field gets
    /// triggers that watch it too.
    static func installCapture(_ worksheets: [WorksheetDefinition], captured: Set<String>, _ db: Database) throws {
        let existing = try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE '\\_sheetsync\\_capture\\_%' ESCAPE '\\'")
        for trigger in existing { try db.execute(sql: "DROP TRIGGER \(SQL.quote(trigger))") }
        for worksheet in worksheets where captured.contains(worksheet.name) {
            for sql in captureTriggers(for: worksheet) { try db.execute(sql: sql) }
        }
    }
}
