import Foundation
import Testing
@testable import SheetSyncCore

/// sheetsync's JSON reader must agree with Foundation's JSONSerialization on every
/// value (the reference), while keeping number literals exact.
struct JSONReaderTests {
    static let corpus: [String] = [
        #"{}"#, #"[]"#, #"null"#, #"true"#, #"false"#, #"0"#, #"-0"#, #""""#,
        #"{"a": 1, "b": [true, false, null], "c": {"d": "e"}}"#,
        #"  [1, -1, 3.14, -2.5e-3, 1E10, 6.02214076e+23, 0.000001]  "#,
        #"[9007199254740993, -9223372036854775808, 18446744073709551615]"#,
        #"["\"quoted\" \\ backslash \/ slash", "\b\f\n\r\t"]"#,
        #"["\u00e9\u4e2d\u0000\u001f", "caf\u00E9"]"#,
        #"["\ud83d\ude00 grinning", "😀 raw", "mixed \ud834\udd1e and 𝄞"]"#,
        #"{"unicode keys ü": {"日本": "語"}, "": "empty key"}"#,
        #"{"dup": 1, "dup": 2}"#,
        "[" + String(repeating: "[", count: 200) + String(repeating: "]", count: 200) + "]",
        #"{"orders": [{"id": "o-1", "amount": {"value": "12.50", "currency": "EUR"}, "items": [{"sku": "A", "qty": 2}]}]}"#,
        "[1,\n2,\r\n\t3]",
        #"[1e-300, 1e300, 2.2250738585072014e-308]"#,
        #"{"a":{"b":{"c":{"d":{"e":{"f":[[[[{"g":"deep"}]]]]}}}}}}"#,
    ]

    @Test(arguments: corpus)
    func agreesWithJSONSerialization(_ text: String) throws {
        let ours = try JSONReader.parse(text)
        let reference = try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
        #expect(Self.matches(ours, reference), "reader and JSONSerialization disagree on \(text.prefix(80))")
    }

    static let invalid: [(String, String)] = [
        ("", "invalid JSON at line 1, column 1 (byte 0): unexpected end of input, expected a value"),
        ("[1, 2", "invalid JSON at line 1, column 6 (byte 5): unexpected end of input, expected ',' or ']' in array"),
        ("{\"a\" 1}", "invalid JSON at line 1, column 6 (byte 5): unexpected '1', expected ':' after member name"),
        ("[01]", "invalid JSON at line 1, column 3 (byte 2): invalid number: leading zeros are not allowed"),
        ("[1.]", "invalid JSON at line 1, column 4 (byte 3): invalid number: expected a digit after '.'"),
        ("[tru]", "invalid JSON at line 1, column 2 (byte 1): unexpected 't', expected a value"),
        ("[\"a\nb\"]", "invalid JSON at line 1, column 4 (byte 3): control character U+000A in string; it must be escaped"),
        (#"["\x"]"#, #"invalid JSON at line 1, column 3 (byte 2): invalid escape '\x' in string"#),
        (#"["\ud800"]"#, #"invalid JSON at line 1, column 3 (byte 2): lone high surrogate \uD800 in string"#),
        (#"["\udc00x"]"#, #"invalid JSON at line 1, column 3 (byte 2): lone low surrogate \uDC00 in string"#),
        ("{\"a\":1,}", "invalid JSON at line 1, column 8 (byte 7): unexpected '}', expected a member name in double quotes"),
        ("[1]\n[2]", "invalid JSON at line 2, column 1 (byte 4): unexpected '[' after the end of the document"),
        ("\"abc", "invalid JSON at line 1, column 1 (byte 0): unterminated string"),
    ]

    @Test(arguments: invalid)
    func rejectsWithPosition(text: String, message: String) {
        #expect(throws: CoreError.self) { try JSONReader.parse(text) }
        do {
            _ = try JSONReader.parse(text)
        } catch {
            #expect(error.message == message)
        }
    }

    @Test func rejectsInvalidUTF8() {
        let bytes: [UInt8] = Array(#"["ok", ""#.utf8) + [0xC3, 0x28] + Array(#""]"#.utf8)
        do {
            _ = try JSONReader.parse(bytes)
            Issue.record("invalid UTF-8 was accepted")
        } catch {
            #expect(error.message == "invalid JSON at line 1, column 9 (byte 8): invalid UTF-8 in string")
        }
        #expect(throws: (any Error).self) { try JSONSerialization.jsonObject(with: Data(bytes)) }
    }

    @Test func refusesNestingBeyondTheLimit() {
        let deep = String(repeating: "[", count: 600) + String(repeating: "]", count: 600)
        #expect(throws: CoreError.self) { try JSONReader.parse(deep) }
    }

    @Test func keepsNumberLiteralsExact() throws {
        let value = try JSONReader.parse(#"{"big": 123456789012345678901234567890.000000000000000001}"#)
        #expect(value["big"] == .number("123456789012345678901234567890.000000000000000001"))
    }

    @Test func serialisesBackToEquivalentJSON() throws {
        for text in Self.corpus {
            let value = try JSONReader.parse(text)
            #expect(try JSONReader.parse(value.jsonText) == value)
        }
    }

    /// Structural comparison with JSONSerialization's objects.
    static func matches(_ ours: JSONValue, _ reference: Any) -> Bool {
        switch ours {
        case .null:
            return reference is NSNull
        case .bool(let value):
            guard let number = reference as? NSNumber else { return false }
            return number.boolValue == value && (reference as? Bool) != nil
        case .number(let literal):
            guard let number = reference as? NSNumber else { return false }
            let expected = Double(literal)!
            let actual = number.doubleValue
            if expected == actual { return true }
            return abs(expected - actual) <= abs(expected) * 1e-12
        case .string(let value):
            return (reference as? String) == value
        case .array(let elements):
            guard let array = reference as? [Any], array.count == elements.count else { return false }
            return zip(elements, array).allSatisfy { matches($0, $1) }
        case .object(let object):
            guard let dictionary = reference as? [String: Any] else { return false }
            // Duplicate keys: both keep the last value.
            let keys = Set(object.members.map(\.key))
            guard keys.count == dictionary.count else { return false }
            return keys.allSatisfy { key in dictionary[key].map { matches(object[key]!, $0) } ?? false }
        }
    }
}
