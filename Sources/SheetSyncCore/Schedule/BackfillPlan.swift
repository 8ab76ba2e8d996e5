import Foundation

/// One slice of a backfill: `[start, end)`, exposed to templates as
/// `{{window.start}}` and `{{window.end}}` (ISO-8601 UTC).
public struct BackfillWindow: Sendable, Hashable, CustomStringConvertible {
    public var start: UTCDateTime
    public var end: UTCDateTime

    public init(start: UTCDateTime, end: UTCDateTime) {
        self.start = start
        self.end = end
    }

    public var description: String { "[\(start), \(end))" }
}

/// Splits `[from, to)` into backfill windows.
///
/// Steps: `30m`, `6h` (elapsed time), `1d`, `1w` (calendar days: in a time zone with
/// daylight saving a day window may be 23 or 25 hours long, from local midnight to
/// local midnight), `1mo` (calendar months: from January 31 the boundaries are
/// February 29, March 31, … — each counted from the start, so short months do not
/// shift the rest). Windows are in UTC unless a time zone is given.
public enum BackfillPlan {
    public enum Step: Sendable, Hashable {
        case seconds(Int64)
        case days(Int)
        case months(Int)
    }

    public static func parseStep(_ text: String) throws(CoreError) -> Step {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let digits = trimmed.prefix { $0.isNumber }
        let unit = trimmed.dropFirst(digits.count)
        guard let count = Int(digits), count > 0 else {
            throw CoreError(.invalidDuration, "invalid step '\(text)'; use forms like '1d', '12h', '1w', '1mo'")
        }
        switch unit {
        case "mo": return .months(count)
        case "w": return .days(7 * count)
        case "d": return .days(count)
        case "h": return .seconds(Int64(count) * 3600)
        case "m": return .seconds(Int64(count) * 60)
        case "s": return .seconds(Int64(count))
        default: throw CoreError(.invalidDuration, "invalid step '\(text)': unknown unit '\(unit)'; use s, m, h, d, w or mo")
        }
    }

    /// Parses a `--from`/`--to` value: an ISO date-time, or a date (midnight in `zone`, else UTC).
    public static func parseInstant(_ text: String, zone: TimeZone? = nil) -> UTCDateTime? {
        if text.count == 10, let (y, m, d) = CivilDate.parse(text) {
            let zone = zone ?? TimeZone(identifier: "UTC")!
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = zone
            guard let date = calendar.date(from: DateComponents(year: y, month: m, day: d)) else { return nil }
            return UTCDateTime(seconds: Int64(date.timeIntervalSince1970.rounded()))
        }
        return UTCDateTime(iso: text)
    }

    public static func windows(from: UTCDateTime, to: UTCDateTime, step: Step, zone: TimeZone? = nil) throws(CoreError) -> [BackfillWindow] {
        guard from < to else { throw CoreError(.invalidDuration, "--from (\(from)) must be before --to (\(to))") }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone ?? TimeZone(identifier: "UTC")!
        let start = Date(timeIntervalSince1970: TimeInterval(from.seconds))
        var boundaries: [UTCDateTime] = [from]
        var index = 1
        while true {
            let next: UTCDateTime
            switch step {
            case .seconds(let seconds):
                next = UTCDateTime(seconds: from.seconds + seconds * Int64(index), nanoseconds: from.nanoseconds)
            case .days(let days):
                guard let date = calendar.date(byAdding: .day, value: days * index, to: start) else { throw CoreError(.invalidDuration, "date out of range") }
                next = UTCDateTime(seconds: Int64(date.timeIntervalSince1970.rounded()))
            case .months(let months):
                guard let date = calendar.date(byAdding: .month, value: months * index, to: start) else { throw CoreError(.invalidDuration, "date out of range") }
                next = UTCDateTime(seconds: Int64(date.timeIntervalSince1970.rounded()))
            }
            if next >= to { break }
            boundaries.append(next)
            index += 1
            if boundaries.count > 1_000_000 { throw CoreError(.invalidDuration, "more than a million windows; use a larger --step") }
        }
        boundaries.append(to)
        return zip(boundaries, boundaries.dropFirst()).map { BackfillWindow(start: $0, end: $1) }
    }
}
