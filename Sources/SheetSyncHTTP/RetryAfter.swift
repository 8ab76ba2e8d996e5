import SheetSyncCore

/// Parses `Retry-After`: delay seconds, or an HTTP date (RFC 9110 IMF-fixdate).
///
/// The header is data from a server, never a trusted number: anything but digits (or a
/// well-formed date with fields in range) is ignored, and every delay is clamped to
/// `ceiling`, so `Retry-After: 99999999999999999` cannot overflow a date computation.
/// What a caller does with a long delay is its own rule (a pull step fails past 10
/// minutes; a push delivery waits, within its attempts).
public enum RetryAfter {
    /// The longest delay a `Retry-After` can ask for: one year.
    public static let ceiling: Duration = .seconds(366 * 86_400)

    public static func delay(_ value: String, now: UTCDateTime) -> Duration? {
        let trimmed = value.trimmingCharacters(in: .whitespaces)
        let ceilingSeconds = ceiling.components.seconds
        if !trimmed.isEmpty, trimmed.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) {
            // More digits than the ceiling has: the ceiling (no integer conversion to overflow).
            guard trimmed.utf8.count <= 9, let seconds = Int64(trimmed) else { return ceiling }
            return .seconds(min(seconds, ceilingSeconds))
        }
        // Sun, 06 Nov 1994 08:49:37 GMT
        let parts = trimmed.split(separator: " ")
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        guard parts.count == 6, parts[5] == "GMT", parts[1].count <= 2, parts[3].count == 4,
              let day = Int(parts[1]), let monthIndex = months.firstIndex(of: String(parts[2])), let year = Int(parts[3]),
              (1...CivilDate.daysInMonth(year: year, month: monthIndex + 1)).contains(day) else { return nil }
        let time = parts[4].split(separator: ":", omittingEmptySubsequences: false)
        guard time.count == 3, time.allSatisfy({ $0.count == 2 }),
              let hour = Int(time[0]), let minute = Int(time[1]), let second = Int(time[2]),
              (0...23).contains(hour), (0...59).contains(minute), (0...60).contains(second) else { return nil }
        let at = CivilDate.days(year: year, month: monthIndex + 1, day: day) * 86_400 + Int64(hour * 3600 + minute * 60 + second)
        return .seconds(min(max(0, at - now.seconds), ceilingSeconds))
    }
}
