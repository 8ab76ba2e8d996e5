/// Incremental cursor values: compared the way users mean them.
///
/// Two date-times compare as instants (so `…T12:00:00+02:00` is before
/// `…T11:00:00Z`), two numbers as numbers (exactly, even past 2^53), anything
/// else as text.
public enum CursorValue {
    /// `a < b` in cursor order.
    public static func isLess(_ a: String, _ b: String) -> Bool {
        if let x = UTCDateTime(iso: a), let y = UTCDateTime(iso: b) { return x < y }
        if let x = DecimalText.normalize(a), let y = DecimalText.normalize(b) { return compareDecimals(x, y) < 0 }
        return a < b
    }

    /// The larger of two optional cursor values.
    public static func max(_ a: String?, _ b: String?) -> String? {
        guard let a else { return b }
        guard let b else { return a }
        return isLess(a, b) ? b : a
    }

    /// `a < b` as values of the cursor's field type: date-times and dates as instants,
    /// numbers numerically, anything else as text. A value that is not of the type (a
    /// cursor saved from a rejected record by an older version) sorts before every value
    /// that is, so the first written record replaces it. Without a type (the cursor is
    /// not a mapped field), the value decides, as in `isLess(_:_:)`.
    public static func isLess(_ a: String, _ b: String, as type: FieldType?) -> Bool {
        guard let type else { return isLess(a, b) }
        switch type {
        case .datetime, .date:
            func instant(_ text: String) -> UTCDateTime? {
                guard case .text(let converted)? = try? type.convert(.string(text)) else { return nil }
                return UTCDateTime(iso: converted)
            }
            return ordered(instant(a), instant(b), else: a < b, <)
        case .integer, .number, .decimal:
            return ordered(DecimalText.normalize(a), DecimalText.normalize(b), else: a < b) { compareDecimals($0, $1) < 0 }
        case .text, .boolean, .json:
            return a < b
        }
    }

    /// The larger of two optional cursor values of a field of `type`.
    public static func max(_ a: String?, _ b: String?, as type: FieldType?) -> String? {
        guard let a else { return b }
        guard let b else { return a }
        return isLess(a, b, as: type) ? b : a
    }

    /// Orders two parsed values, a value that did not parse first.
    private static func ordered<Value>(_ x: Value?, _ y: Value?, else fallback: Bool, _ less: (Value, Value) -> Bool) -> Bool {
        switch (x, y) {
        case let (x?, y?): less(x, y)
        case (nil, _?): true
        case (_?, nil): false
        case (nil, nil): fallback
        }
    }

    /// The text of a record's cursor value, or nil when it has none.
    public static func text(_ value: JSONValue?) -> String? {
        switch value {
        case .string(let s)? where !s.isEmpty: s
        case .number(let n)?: n
        default: nil
        }
    }

    /// `cursor` moved back by `lookback` when it is a date-time (as ISO UTC); other
    /// cursors are returned as they are.
    public static func applying(lookback: Duration?, to cursor: String) -> String {
        guard let lookback, lookback > .zero, let instant = UTCDateTime(iso: cursor) else { return cursor }
        let seconds = lookback.components.seconds
        let nanos = Int64(lookback.components.attoseconds / 1_000_000_000)
        var result = UTCDateTime(seconds: instant.seconds - seconds, nanoseconds: instant.nanoseconds)
        let total = Int64(result.nanoseconds) - nanos
        if total < 0 {
            result.seconds -= 1
            result.nanoseconds = Int32(total + 1_000_000_000)
        } else {
            result.nanoseconds = Int32(total)
        }
        return result.description
    }

    /// Compares two normalised decimal strings (as `DecimalText.normalize` gives).
    static func compareDecimals(_ a: String, _ b: String) -> Int {
        let negA = a.hasPrefix("-"), negB = b.hasPrefix("-")
        if negA != negB { return negA ? -1 : 1 }
        let magnitude = compareMagnitudes(negA ? String(a.dropFirst()) : a, negB ? String(b.dropFirst()) : b)
        return negA ? -magnitude : magnitude
    }

    private static func compareMagnitudes(_ a: String, _ b: String) -> Int {
        let pa = a.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        let pb = b.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        let (ia, ib) = (pa[0], pb[0])
        if ia.count != ib.count { return ia.count < ib.count ? -1 : 1 }
        if ia != ib { return ia < ib ? -1 : 1 }
        var fa = pa.count > 1 ? String(pa[1]) : ""
        var fb = pb.count > 1 ? String(pb[1]) : ""
        let width = Swift.max(fa.count, fb.count)
        fa += String(repeating: "0", count: width - fa.count)
        fb += String(repeating: "0", count: width - fb.count)
        return fa == fb ? 0 : (fa < fb ? -1 : 1)
    }
}
