/// A value as stored in a SQLite column: one of SQLite's storage classes.
///
/// The core speaks in these so that conversions can be tested without a database;
/// SheetSyncStore binds them to statements.
public enum SQLValue: Sendable, Hashable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])

    /// The value as JSON, typed the way the worksheet stores it.
    public var jsonValue: JSONValue {
        switch self {
        case .null: .null
        case .integer(let value): .number(String(value))
        case .real(let value): value.isFinite ? .number(SQLValue.shortestText(value)) : .null
        case .text(let value): .string(value)
        case .blob(let bytes): .string(bytes.map { String($0, radix: 16) }.joined())
        }
    }

    /// `3.0` prints as `3.0`, `0.1` as `0.1`: Swift's shortest round-tripping form.
    static func shortestText(_ value: Double) -> String {
        "\(value)"
    }
}
