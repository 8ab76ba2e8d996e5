import SheetSyncCore

/// Parses `Retry-After`: delay seconds, or an HTTP date (RFC 9110 IMF-fixdate).
enum RetryAfter {
    static func delay(_ value: String, now: UTCDateTime) -> Duration? {
        let trimmed = value.trimmingCharacters(in: .whitespaces)
        if let seconds = Int(trimmed), seconds >= 0 { return .seconds(seconds) }
        // Sun, 06 Nov 1994 08:49:37 GMT
        let parts = trimmed.split(separator: " ")
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        guard parts.count == 6, parts[5] == "GMT", let day = Int(parts[1]), let monthIndex = months.firstIndex(of: String(parts[2])),
              let year = Int(parts[3]) else { return nil }
        let time = parts[4].split(separator: ":").compactMap { Int($0) }
        guard time.count == 3 else { return nil }
        let seconds = CivilDate.days(year: year, month: monthIndex + 1, day: day) * 86_400 + Int64(time[0] * 3600 + time[1] * 60 + time[2])
        return .seconds(max(0, seconds - now.seconds))
    }
}

import Foundation
