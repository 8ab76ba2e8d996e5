import Testing
@testable import SheetSyncCore

/// The conversion fast paths (text already canonical is returned as is) must agree
/// with the full parsers on every input, canonical or not.
struct FastPathTests {
    @Test(arguments: [
        "0", "7", "12.50", "-12.50", "0.5", "-0.5", "123456789012345678901234567890.123456789",
        // not canonical: each must go through the full normaliser
        "-0", "-0.00", "00", "01.5", "1.", ".5", "+7", "1e3", " 12", "12 ", "1.2.3", "-", "", "1_000", "١٢",
    ])
    func decimalFastPathAgreesWithTheNormaliser(literal: String) {
        let fast = DecimalText.isCanonical(literal)
        if fast { #expect(DecimalText.normalize(literal) == literal) }
        // The canonical check never says yes to a literal the normaliser would change or refuse.
        let slow = Self.slowNormalize(literal)
        #expect(DecimalText.normalize(literal) == slow, "normalize(\(literal)) differs from the full path")
        if fast { #expect(slow == literal) }
    }

    /// `normalize` with the fast path defeated: a leading space goes the full way.
    static func slowNormalize(_ literal: String) -> String? {
        DecimalText.normalize(" " + literal)
    }

    @Test(arguments: [
        ("2024-02-29T23:59:59Z", true), ("2024-01-01T00:00:00Z", true), ("1970-01-01T00:00:00Z", true),
        ("2023-02-29T00:00:00Z", false), ("2024-04-31T00:00:00Z", false), ("2024-13-01T00:00:00Z", false),
        ("2024-00-10T00:00:00Z", false), ("2024-01-00T00:00:00Z", false), ("2024-01-01T24:00:00Z", false),
        ("2024-01-01T23:60:00Z", false), ("2024-01-01T23:59:60Z", false), ("2024-01-01t00:00:00Z", false),
        ("2024-01-01T00:00:00z", false), ("2024-01-01 00:00:00Z", false), ("2024-01-01T00:00:00+", false),
        ("2024-1-01T00:00:00Z0", false), ("２０２４-01-01T00:00:00Z", false),
    ])
    func canonicalDateTimesAreRecognised(text: String, canonical: Bool) throws {
        #expect(UTCDateTime.isCanonical(text) == canonical)
        if canonical {
            #expect(try UTCDateTime(iso: text)?.description == text)
            #expect(try FieldType.datetime.convert(.string(text)) == .text(text))
        }
    }

    @Test func everySecondOfALeapDayRoundTripsThroughTheFastPath() throws {
        var start = UTCDateTime(iso: "2024-02-28T23:00:00Z")!
        for _ in 0..<(26 * 60) {
            let text = start.description
            #expect(UTCDateTime.isCanonical(text), "\(text)")
            start = UTCDateTime(seconds: start.seconds + 61)
        }
    }

    @Test func singularPathsAgreeWithSelect() throws {
        let document = try JSONReader.parse(#"{"a": {"b": [1, {"c": "x"}, null]}, "a2": 1, "a": {"b": [9]}}"#)
        for text in ["$", "$.a", "$.a.b", "$.a.b[0]", "$.a.b[-1]", "$.a.b[5]", "$.a.b[1].c", "$.missing", "$.a2.b", "$['a']['b'][0]"] {
            let path = try JSONPath(parsing: text)
            #expect(path.value(in: document) == path.select(in: document).first, "\(text)")
        }
    }
}
