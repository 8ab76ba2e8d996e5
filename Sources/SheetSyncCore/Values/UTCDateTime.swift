/// An instant in UTC with up to nanosecond precision, parsed and printed without
/// Foundation's date formatters (slow on Linux, and lossy past milliseconds).
///
/// Accepted input:
/// - ISO-8601 / RFC 3339: `2024-03-10T12:34:56Z`, `2024-03-10T12:34:56.123+02:00`,
///   `2024-03-10T12:34:56+0200`, a space instead of `T`, minutes without seconds.
///   A time without an offset is taken as UTC.
/// - A date alone, `2024-03-10`, is midnight UTC.
/// - Unix epoch numbers: seconds, or milliseconds when the magnitude is at least
///   1e11 (1e11 seconds would be the year 5138).
///
/// Output is always `YYYY-MM-DDTHH:MM:SS[.fraction]Z`, the fraction trimmed of
/// trailing zeros and left out when zero.
public struct UTCDateTime: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Whole seconds since 1970-01-01T00:00:00Z.
    public var seconds: Int64
    /// Nanoseconds within the second, 0..<1_000_000_000.
    public var nanoseconds: Int32

    public init(seconds: Int64, nanoseconds: Int32 = 0) {
        self.seconds = seconds
        self.nanoseconds = nanoseconds
    }

    public static func < (lhs: UTCDateTime, rhs: UTCDateTime) -> Bool {
        (lhs.seconds, lhs.nanoseconds) < (rhs.seconds, rhs.nanoseconds)
    }

    /// The canonical ISO-8601 UTC text.
    public var description: String {
        let days = floorDiv(seconds, 86_400)
        let secondOfDay = seconds - days * 86_400
        let (year, month, day) = CivilDate.fromDays(days)
        var text = CivilDate.format(year: year, month: month, day: day)
        text += "T" + pad2(Int(secondOfDay / 3600)) + ":" + pad2(Int(secondOfDay / 60 % 60)) + ":" + pad2(Int(secondOfDay % 60))
        if nanoseconds > 0 {
            var fraction = String(nanoseconds)
            fraction = String(repeating: "0", count: 9 - fraction.count) + fraction
            while fraction.last == "0" { fraction.removeLast() }
            text += "." + fraction
        }
        return text + "Z"
    }

    /// True when `text` is already the canonical form of a valid instant,
    /// `YYYY-MM-DDTHH:MM:SSZ` (what most APIs send): converting it would return it
    /// unchanged, so the conversion can skip parsing and printing.
    public static func isCanonical(_ text: String) -> Bool {
        let utf8 = text.utf8
        guard utf8.count == 20 else { return false }
        var fields = (0, 0, 0, 0, 0, 0)
        var ok = true
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { buffer in
            _ = buffer.initialize(from: utf8)
            func number(_ start: Int, _ count: Int) -> Int {
                var value = 0
                for index in start..<(start + count) {
                    let byte = buffer[index]
                    guard byte >= 48, byte <= 57 else { ok = false; return 0 }
                    value = value * 10 + Int(byte - 48)
                }
                return value
            }
            ok = buffer[4] == UInt8(ascii: "-") && buffer[7] == UInt8(ascii: "-") && buffer[10] == UInt8(ascii: "T")
                && buffer[13] == UInt8(ascii: ":") && buffer[16] == UInt8(ascii: ":") && buffer[19] == UInt8(ascii: "Z")
            fields = (number(0, 4), number(5, 2), number(8, 2), number(11, 2), number(14, 2), number(17, 2))
        }
        let (year, month, day, hour, minute, second) = fields
        guard ok, (1...12).contains(month), day >= 1, day <= CivilDate.daysInMonth(year: year, month: month),
              hour < 24, minute < 60, second < 60 else { return false }
        return true
    }

    /// Parses an ISO-8601 date-time or date; `nil` when the text is not one.
    public init?(iso text: some StringProtocol) {
        var scanner = DigitScanner(Array(text.trimmingSpaces.utf8))
        guard let (year, month, day) = scanner.date() else { return nil }
        var secondOfDay: Int64 = 0
        var nanos: Int32 = 0
        var offsetSeconds: Int64 = 0
        if !scanner.isAtEnd {
            guard scanner.take("T") || scanner.take("t") || scanner.take(" ") else { return nil }
            guard let hour = scanner.number(digits: 2), hour < 24, scanner.take(":"),
                  let minute = scanner.number(digits: 2), minute < 60 else { return nil }
            var second = 0
            if scanner.take(":") {
                guard let value = scanner.number(digits: 2), value <= 60 else { return nil }
                second = min(value, 59)  // a leap second is clamped to :59
                if scanner.take(".") || scanner.take(",") {
                    guard let fraction = scanner.fraction() else { return nil }
                    nanos = fraction
                }
            }
            secondOfDay = Int64(hour * 3600 + minute * 60 + second)
            if scanner.take("Z") || scanner.take("z") {
                // UTC
            } else if let sign = scanner.sign() {
                guard let hours = scanner.number(digits: 2), hours < 24 else { return nil }
                _ = scanner.take(":")
                let minutes = scanner.isAtEnd ? 0 : scanner.number(digits: 2)
                guard let minutes, minutes < 60 else { return nil }
                offsetSeconds = Int64(sign * (hours * 3600 + minutes * 60))
            }
        }
        guard scanner.isAtEnd else { return nil }
        let days = CivilDate.days(year: year, month: month, day: day)
        self.init(seconds: days * 86_400 + secondOfDay - offsetSeconds, nanoseconds: nanos)
    }

    /// Interprets a Unix epoch number: seconds, or milliseconds from 1e11 up.
    public init?(epoch literal: String) {
        guard let value = Double(literal), value.isFinite, abs(value) < 1e16 else { return nil }
        let isMilliseconds = abs(value) >= 1e11
        if let whole = Int64(literal) {
            let (s, rest) = isMilliseconds ? (floorDiv(whole, 1000), whole - floorDiv(whole, 1000) * 1000) : (whole, 0)
            self.init(seconds: s, nanoseconds: Int32(rest * 1_000_000))
            return
        }
        let totalSeconds = isMilliseconds ? value / 1000 : value
        let whole = totalSeconds.rounded(.down)
        var nanos = Int64(((totalSeconds - whole) * 1e9).rounded())
        var s = Int64(whole)
        if nanos >= 1_000_000_000 { s += 1; nanos -= 1_000_000_000 }
        // Keep microsecond precision at most: more is noise from the double.
        nanos = (nanos / 1000) * 1000
        self.init(seconds: s, nanoseconds: Int32(nanos))
    }
}

/// Proleptic Gregorian calendar arithmetic (Howard Hinnant's days-from-civil).
public enum CivilDate {
    /// Days since 1970-01-01 of the given calendar date.
    public static func days(year: Int, month: Int, day: Int) -> Int64 {
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = floorDiv(y, 400)
        let yoe = y - era * 400
        let m = Int64(month)
        let doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + Int64(day) - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// The calendar date of a day count since 1970-01-01.
    public static func fromDays(_ days: Int64) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = floorDiv(z, 146_097)
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        return (Int(year), Int(month), Int(day))
    }

    public static func isLeapYear(_ year: Int) -> Bool {
        year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
    }

    public static func daysInMonth(year: Int, month: Int) -> Int {
        switch month {
        case 2: isLeapYear(year) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// `YYYY-MM-DD`.
    public static func format(year: Int, month: Int, day: Int) -> String {
        let y = String(year)
        return String(repeating: "0", count: max(0, 4 - y.count)) + y + "-" + pad2(month) + "-" + pad2(day)
    }

    /// Parses `YYYY-MM-DD` (anything after the date, such as a time, is refused).
    public static func parse(_ text: some StringProtocol) -> (year: Int, month: Int, day: Int)? {
        var scanner = DigitScanner(Array(text.trimmingSpaces.utf8))
        guard let date = scanner.date(), scanner.isAtEnd else { return nil }
        return date
    }
}

/// A tiny cursor over ASCII bytes for the date parsers.
struct DigitScanner {
    let bytes: [UInt8]
    var index = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var isAtEnd: Bool { index == bytes.count }

    mutating func take(_ character: Unicode.Scalar) -> Bool {
        guard index < bytes.count, bytes[index] == UInt8(character.value) else { return false }
        index += 1
        return true
    }

    mutating func number(digits: Int) -> Int? {
        guard index + digits <= bytes.count else { return nil }
        var value = 0
        for byte in bytes[index..<index + digits] {
            guard byte >= 48, byte <= 57 else { return nil }
            value = value * 10 + Int(byte - 48)
        }
        index += digits
        return value
    }

    /// Up to nine fraction digits as nanoseconds; further digits are dropped.
    mutating func fraction() -> Int32? {
        var value: Int32 = 0
        var count = 0
        while index < bytes.count, bytes[index] >= 48, bytes[index] <= 57 {
            if count < 9 { value = value * 10 + Int32(bytes[index] - 48) }
            count += 1
            index += 1
        }
        guard count > 0 else { return nil }
        for _ in min(count, 9)..<9 { value *= 10 }
        return value
    }

    mutating func sign() -> Int? {
        if take("+") { return 1 }
        if take("-") { return -1 }
        return nil
    }

    mutating func date() -> (year: Int, month: Int, day: Int)? {
        guard let year = number(digits: 4), take("-"), let month = number(digits: 2), (1...12).contains(month),
              take("-"), let day = number(digits: 2), day >= 1,
              day <= CivilDate.daysInMonth(year: year, month: month) else { return nil }
        return (year, month, day)
    }
}

@inline(__always) func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
    a >= 0 ? a / b : (a - b + 1) / b
}

@inline(__always) func pad2(_ value: Int) -> String {
    value < 10 ? "0" + String(value) : String(value)
}
