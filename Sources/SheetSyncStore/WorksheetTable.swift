import SheetSyncCore

/// The SQLite table of a worksheet: its DDL, system columns and upsert SQL.
struct WorksheetTable {
    let worksheet: WorksheetDefinition

    var quotedName: String { SQL.quote(worksheet.name) }

    /// `CREATE TABLE` for the worksheet under `name` (default its own name).
    ///
    /// Key fields are `NOT NULL` and form the primary key; booleans and json get
    /// CHECK constraints so that writes from any SQLite client stay valid; the
    /// system columns default to "now" so rows inserted by hand get them too.
    func createSQL(as name: String? = nil) -> String {
        var lines: [String] = []
        for field in worksheet.fields {
            lines.append("    " + Self.columnDefinition(field, isKey: worksheet.key.contains(field.name)))
        }
        lines.append("    \"_created_at\" TEXT NOT NULL DEFAULT (\(SQL.now))")
        lines.append("    \"_updated_at\" TEXT NOT NULL DEFAULT (\(SQL.now))")
        lines.append("    \"_synced_at\" TEXT")
        lines.append("    \"_source\" TEXT")
        lines.append("    PRIMARY KEY (\(worksheet.key.map(SQL.quote).joined(separator: ", ")))")
        return "CREATE TABLE \(SQL.quote(name ?? worksheet.name)) (\n\(lines.joined(separator: ",\n"))\n)"
    }

    /// One column of the table, as used by CREATE TABLE and ADD COLUMN.
    static func columnDefinition(_ field: WorksheetDefinition.Field, isKey: Bool) -> String {
        let column = SQL.quote(field.name)
        var definition = "\(column) \(field.type.sqlType)"
        if isKey { definition += " NOT NULL" }
        if let check = field.type.checkConstraint(column: column) { definition += " \(check)" }
        return definition
    }

    /// Every column, user fields first, then the system columns.
    var allColumns: [String] {
        worksheet.fields.map(\.name) + WorksheetDefinition.systemColumns
    }
}
