/// A worksheet: one SQLite table, defined by one `schema/<name>.yml` file.
public struct WorksheetDefinition: Sendable, Hashable {
    /// One user field (column) of the worksheet.
    public struct Field: Sendable, Hashable {
        public var name: String
        public var type: FieldType
        public var description: String?

        public init(name: String, type: FieldType, description: String? = nil) {
            self.name = name
            self.type = type
            self.description = description
        }
    }

    /// The most fields a worksheet may have: SQLite's column limit (2,000, its default
    /// `SQLITE_MAX_COLUMN`, which the system library sheetsync uses keeps) less the four
    /// system columns (`_created_at`, `_updated_at`, `_synced_at`, `_source`).
    public static let maxFields = 1_996

    /// The table name.
    public var name: String
    /// The fields that identify a record; upserts match on them.
    public var key: [String]
    /// User fields in file order (the column order of the table).
    public var fields: [Field]
    public var description: String?

    public init(name: String, key: [String], fields: [Field], description: String? = nil) {
        self.name = name
        self.key = key
        self.fields = fields
        self.description = description
    }

    public func field(named name: String) -> Field? {
        fields.first { $0.name == name }
    }

    /// Columns sheetsync adds to every worksheet and writes itself:
    /// when the row was first inserted, last changed, last seen in a sync, and by which job.
    public static let systemColumns = ["_created_at", "_updated_at", "_synced_at", "_source"]

    /// Whether `name` may name a table or field: letters, digits and `_`, not
    /// starting with a digit, and not starting with `_` (reserved for sheetsync).
    public static func isValidName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, first != "_", !("0"..."9").contains(first) else { return false }
        return name.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "_" }
    }
}
