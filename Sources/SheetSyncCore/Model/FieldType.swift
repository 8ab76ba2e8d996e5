/// The type of a worksheet field, as written in `schema/*.yml`.
///
/// Each type has one SQLite storage form, chosen so that the value survives a
/// round trip exactly and reads naturally in the `sqlite3` shell:
///
/// | type     | stored as | example                         |
/// |----------|-----------|---------------------------------|
/// | text     | TEXT      | `'paid'`                        |
/// | integer  | INTEGER   | `42`                            |
/// | number   | REAL      | `0.25`                          |
/// | decimal  | TEXT      | `'12345678901234567890.123456'` |
/// | boolean  | INTEGER   | `1` / `0`                       |
/// | date     | TEXT      | `'2024-03-10'`                  |
/// | datetime | TEXT      | `'2024-03-10T17:30:00Z'` (UTC)  |
/// | json     | TEXT      | `'{"a":1}'` (compact JSON)      |
public enum FieldType: String, Sendable, CaseIterable, Codable {
    case text
    case integer
    case number
    case decimal
    case boolean
    case date
    case datetime
    case json

    /// The column type used in `CREATE TABLE`; it fixes SQLite's type affinity.
    ///
    /// Decimals are TEXT on purpose: a NUMERIC column would turn `12.50` into the
    /// double `12.5` and lose digits past the 15th.
    public var sqlType: String {
        switch self {
        case .integer, .boolean: "INTEGER"
        case .number: "REAL"
        case .text, .decimal, .date, .datetime, .json: "TEXT"
        }
    }

    /// A column constraint that keeps values written by other SQLite clients valid,
    /// using only built-in SQL functions.
    public func checkConstraint(column quoted: String) -> String? {
        switch self {
        case .boolean: "CHECK (\(quoted) IN (0, 1))"
        case .json: "CHECK (\(quoted) IS NULL OR json_valid(\(quoted)))"
        default: nil
        }
    }
}
