import Testing
@testable import SheetSyncCore

/// Every field type converts source values the way the README promises.
struct FieldConversionTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var type: FieldType
        var input: JSONValue
        var expected: SQLValue
        var testDescription: String { "\(type.rawValue) ← \(input.jsonText)" }
    }

    static let accepted: [Case] = [
        Case(type: .text, input: .string("paid"), expected: .text("paid")),
        Case(type: .text, input: .number("12345678901234567890"), expected: .text("12345678901234567890")),
        Case(type: .text, input: .bool(true), expected: .text("true")),
        Case(type: .text, input: .string(""), expected: .text("")),
        Case(type: .integer, input: .number("42"), expected: .integer(42)),
        Case(type: .integer, input: .string(" 42 "), expected: .integer(42)),
        Case(type: .integer, input: .number("42.0"), expected: .integer(42)),
        Case(type: .integer, input: .number("1e3"), expected: .integer(1000)),
        Case(type: .integer, input: .number("-9223372036854775808"), expected: .integer(Int64.min)),
        Case(type: .integer, input: .string(""), expected: .null),
        Case(type: .number, input: .number("0.25"), expected: .real(0.25)),
        Case(type: .number, input: .string("1.5e2"), expected: .real(150)),
        Case(type: .decimal, input: .number("123456789012345678901234567890.123456789"), expected: .text("123456789012345678901234567890.123456789")),
        Case(type: .decimal, input: .string("000012.50"), expected: .text("12.50")),
        Case(type: .decimal, input: .number("1.5e3"), expected: .text("1500")),
        Case(type: .decimal, input: .number("-1.25E-3"), expected: .text("-0.00125")),
        Case(type: .decimal, input: .string("+7"), expected: .text("7")),
        Case(type: .decimal, input: .number("-0.00"), expected: .text("0.00")),
        Case(type: .boolean, input: .bool(false), expected: .integer(0)),
        Case(type: .boolean, input: .number("1"), expected: .integer(1)),
        Case(type: .boolean, input: .string("TRUE"), expected: .integer(1)),
        Case(type: .boolean, input: .string("no"), expected: .integer(0)),
        Case(type: .date, input: .string("2024-02-29"), expected: .text("2024-02-29")),
        Case(type: .date, input: .string("2024-03-10T23:30:00-05:00"), expected: .text("2024-03-10")),
        Case(type: .datetime, input: .string("2024-03-10T12:34:56Z"), expected: .text("2024-03-10T12:34:56Z")),
        Case(type: .datetime, input: .string("2024-03-10T14:34:56+02:00"), expected: .text("2024-03-10T12:34:56Z")),
        Case(type: .datetime, input: .string("2024-03-10T07:04:56.250-05:30"), expected: .text("2024-03-10T12:34:56.25Z")),
        Case(type: .datetime, input: .string("2024-12-31T23:30:00-02:00"), expected: .text("2025-01-01T01:30:00Z")),
        Case(type: .datetime, input: .string("2024-03-01T00:30:00+0100"), expected: .text("2024-02-29T23:30:00Z")),
        Case(type: .datetime, input: .string("2024-03-10 12:34:56"), expected: .text("2024-03-10T12:34:56Z")),
        Case(type: .datetime, input: .string("2024-03-10"), expected: .text("2024-03-10T00:00:00Z")),
        Case(type: .datetime, input: .string("2024-03-10T12:34:56.123456789Z"), expected: .text("2024-03-10T12:34:56.123456789Z")),
        Case(type: .datetime, input: .number("1710074096"), expected: .text("2024-03-10T12:34:56Z")),
        Case(type: .datetime, input: .number("1710074096250"), expected: .text("2024-03-10T12:34:56.25Z")),
        Case(type: .datetime, input: .string("1710074096"), expected: .text("2024-03-10T12:34:56Z")),
        Case(type: .datetime, input: .number("-86400"), expected: .text("1969-12-31T00:00:00Z")),
        Case(type: .json, input: .object(JSONObject(["a": .number("1.50"), "b": .array([.null, .string("x\"y")])])), expected: .text(#"{"a":1.50,"b":[null,"x\"y"]}"#)),
        Case(type: .json, input: .string("plain"), expected: .text(#""plain""#)),
        Case(type: .json, input: .null, expected: .null),
        Case(type: .decimal, input: .null, expected: .null),
    ]

    @Test(arguments: accepted)
    func converts(_ example: Case) throws {
        #expect(try example.type.convert(example.input) == example.expected)
    }

    struct Refusal: CustomTestStringConvertible, Sendable {
        var type: FieldType
        var input: JSONValue
        var message: String
        var testDescription: String { "\(type.rawValue) ✗ \(input.jsonText)" }
    }

    static let refused: [Refusal] = [
        Refusal(type: .integer, input: .number("3.5"), message: "expected an integer, found the number 3.5"),
        Refusal(type: .integer, input: .string("abc"), message: "expected an integer, found the string 'abc'"),
        Refusal(type: .integer, input: .number("99999999999999999999"), message: "expected an integer, found '99999999999999999999', which does not fit in 64 bits; use a 'decimal' or 'text' field"),
        Refusal(type: .decimal, input: .string("12,50"), message: "expected a decimal, found the string '12,50'"),
        Refusal(type: .boolean, input: .string("maybe"), message: "expected a boolean, found the string 'maybe' (accepted: true/false, yes/no, 1/0, on/off)"),
        Refusal(type: .boolean, input: .number("2"), message: "expected a boolean, found the number 2 (only 0 and 1 are booleans)"),
        Refusal(type: .date, input: .string("2023-02-29"), message: "expected a date, found the string '2023-02-29' (expected YYYY-MM-DD)"),
        Refusal(type: .datetime, input: .string("yesterday"), message: "expected a datetime, found the string 'yesterday' (expected ISO-8601 such as 2024-03-10T12:00:00Z, or Unix epoch seconds)"),
        Refusal(type: .datetime, input: .string("2024-03-10T25:00:00Z"), message: "expected a datetime, found the string '2024-03-10T25:00:00Z' (expected ISO-8601 such as 2024-03-10T12:00:00Z, or Unix epoch seconds)"),
        Refusal(type: .text, input: .object(JSONObject()), message: "expected a text, found a JSON object (map it to a 'json' field to keep it as JSON text)"),
        Refusal(type: .number, input: .array([]), message: "expected a number, found a JSON array"),
    ]

    @Test(arguments: refused)
    func refuses(_ example: Refusal) {
        #expect(throws: CoreError(.conversionFailed, example.message)) {
            try example.type.convert(example.input)
        }
    }

    @Test func decimalNeverGoesThroughDouble() throws {
        let digits = "0.1000000000000000055511151231257827"
        #expect(try FieldType.decimal.convert(.number(digits)) == .text(digits))
        #expect(try FieldType.number.convert(.number(digits)) == .real(0.1))
    }

    @Test func storedValuesConvertForRetyping() throws {
        #expect(try FieldType.integer.convert(stored: .text("17")) == .integer(17))
        #expect(try FieldType.text.convert(stored: .integer(17)) == .text("17"))
        #expect(try FieldType.json.convert(stored: .text(#"{ "a" : 1 }"#)) == .text(#"{"a":1}"#))
        #expect(try FieldType.json.convert(stored: .text("not json")) == .text(#""not json""#))
        #expect(try FieldType.boolean.convert(stored: .text("yes")) == .integer(1))
    }
}
