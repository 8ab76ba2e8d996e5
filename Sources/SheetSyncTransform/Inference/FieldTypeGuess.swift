import SheetSyncCore

/// The narrowest field type that holds every value a member had across a sample.
///
/// A value on its own suggests a type; `merge` widens as more values come in:
///
/// | values                                   | type       |
/// |------------------------------------------|------------|
/// | `true`, `false`                          | `boolean`  |
/// | `42` (fits 64 bits)                      | `integer`  |
/// | `0.25`, `1e3`: any fraction or exponent  | `number` (a double, as the API sent a double) |
/// | `12345678901234567890123` (past 64 bits) | `decimal` (every digit kept) |
/// | `"42"`                                   | `integer`; but `"00123"` (leading zeros: zip codes, account numbers) is `text` |
/// | `"12.50"`                                | `decimal`: an API quotes amounts to keep their digits; `"007.5"` is `text` |
/// | `"2024-03-10T17:30:00Z"`                 | `datetime` |
/// | `"2024-03-10"`                           | `date`     |
/// | any other string                         | `text`     |
///
/// Merging: integer with number is number, integer or number with decimal is decimal,
/// date with datetime is datetime, anything else mixed is text. `null`, a missing
/// member and `""` tell nothing (a sync stores them as NULL in any type), so a member
/// that never had anything else is `text`, flagged by `hasValue == false`.
public struct FieldTypeGuess: Sendable, Hashable {
    /// The type so far; nil while only nulls (or empty strings) were seen.
    public private(set) var type: FieldType?
    /// Whether any value other than null was seen (an empty string counts).
    public private(set) var hasValue = false

    public init() {}

    /// The type to write: text when nothing told otherwise.
    public var fieldType: FieldType { type ?? .text }

    /// Takes one more scalar value into account (objects and arrays are not scalars:
    /// callers decide what they become; here they make the field `json`).
    public mutating func add(_ value: JSONValue) {
        if case .null = value { return }
        hasValue = true
        guard let guess = Self.guess(value) else { return }
        type = Self.merge(type, guess)
    }

    /// The type one value suggests; nil for null and the empty string.
    public static func guess(_ value: JSONValue) -> FieldType? {
        switch value {
        case .null: return nil
        case .bool: return .boolean
        case .number(let literal):
            if literal.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }) { return .number }
            return Int64(literal) != nil ? .integer : .decimal
        case .string(let text):
            return guess(string: text)
        case .array, .object: return .json
        }
    }

    /// What a string holds: a date-time, a date, a number written as text, or text.
    static func guess(string text: String) -> FieldType? {
        if text.isEmpty { return nil }
        if text.count >= 11, text.count <= 40, UTCDateTime(iso: text) != nil, text.first?.isNumber == true { return .datetime }
        if text.count == 10, CivilDate.parse(text) != nil { return .date }
        let unsigned = text.hasPrefix("-") ? text.utf8.dropFirst() : text.utf8[...]
        let parts = unsigned.split(separator: UInt8(ascii: "."), maxSplits: 2, omittingEmptySubsequences: false)
        let isDigits = { (part: Substring.UTF8View.SubSequence) in !part.isEmpty && part.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) } }
        guard (parts.count == 1 || parts.count == 2), parts.allSatisfy(isDigits) else { return .text }
        // A leading zero (not "0" itself, nor "0.5") means the digits are a code: keep them as written.
        let whole = parts[0]
        if whole.count > 1, whole.first == UInt8(ascii: "0") { return .text }
        if parts.count == 2 { return .decimal }
        // Past 18 digits an integer would not fit 64 bits: such long digit strings are identifiers.
        return whole.count <= 18 ? .integer : .text
    }

    /// The narrowest type that holds values of both types.
    public static func merge(_ a: FieldType?, _ b: FieldType?) -> FieldType? {
        guard let a else { return b }
        guard let b else { return a }
        if a == b { return a }
        switch Set([a, b]) {
        case [.integer, .number]: return .number
        case [.integer, .decimal], [.number, .decimal]: return .decimal
        case [.date, .datetime]: return .datetime
        default: return a == .json || b == .json ? .json : .text
        }
    }
}
