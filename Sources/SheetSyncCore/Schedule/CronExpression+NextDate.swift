import Foundation

extension CronExpression {
    /// The first time after `date` at which the schedule fires, in `zone`.
    ///
    /// Daylight saving is handled deliberately:
    /// - a fixed time (restricted hour field) that falls in a skipped hour runs once, at
    ///   the end of the gap (02:30 on a spring-forward night runs at 03:00);
    /// - a fixed time that occurs twice (fall back) runs once, at its first occurrence;
    /// - hourly and finer schedules follow real elapsed time: nothing runs for local
    ///   times that do not exist, and repeated local times run each time they occur.
    ///
    /// `@every` intervals count from `anchor` (default the Unix epoch), so they do not
    /// drift with run times. Returns nil only for a schedule that never fires (such as
    /// February 30th).
    public func nextDate(after date: Date, in zone: TimeZone, anchor: Date? = nil) -> Date? {
        switch kind {
        case .every(let interval):
            // Whole milliseconds (durations are parsed to the millisecond): floating-point
            // steps such as 2h2m49.666s could land on or before `date` (found by fuzzing).
            let step = interval.components.seconds * 1000 + interval.components.attoseconds / 1_000_000_000_000_000
            guard step > 0 else { return nil }
            let base = Int64(((anchor?.timeIntervalSince1970 ?? 0) * 1000).rounded(.down))
            let now = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
            let elapsed = now - base
            var count = (elapsed >= 0 ? elapsed / step : -((-elapsed + step - 1) / step)) + 1
            var next = Date(timeIntervalSince1970: Double(base + count * step) / 1000)
            while next <= date {
                count += 1
                next = Date(timeIntervalSince1970: Double(base + count * step) / 1000)
            }
            return next
        case .fields(let minutes, let hours, let daysOfMonth, let months, let daysOfWeek, let domRestricted, let dowRestricted):
            let sortedHours = hours.sorted(), sortedMinutes = minutes.sorted()
            let startLocal = Int64(date.timeIntervalSince1970) + Int64(zone.secondsFromGMT(for: date))
            var day = startLocal / 86_400 - 1
            // Eight years covers every leap-day schedule (2096 → 2104 skips 2100).
            for _ in 0..<(366 * 8 + 2) {
                defer { day += 1 }
                let (year, month, dayOfMonth) = CivilDate.fromDays(day)
                guard months.contains(month) else { continue }
                let weekday = Int(((day + 4) % 7 + 7) % 7)  // 1970-01-01 was a Thursday
                let domMatch = daysOfMonth.contains(dayOfMonth), dowMatch = daysOfWeek.contains(weekday)
                let dayMatches = domRestricted && dowRestricted ? (domMatch || dowMatch) : (domRestricted ? domMatch : (dowRestricted ? dowMatch : true))
                guard dayMatches else { continue }
                _ = year
                var candidates = Set<Int64>()
                for hour in sortedHours {
                    for minute in sortedMinutes {
                        let local = day * 86_400 + Int64(hour * 3600 + minute * 60)
                        for instant in Self.resolve(local: local, zone: zone, fixed: isFixedTime) { candidates.insert(instant) }
                    }
                }
                if let next = candidates.filter({ Double($0) > date.timeIntervalSince1970 }).min() {
                    return Date(timeIntervalSince1970: Double(next))
                }
            }
            return nil
        }
    }

    /// Every fire time in `(from, to]`, for tests and catch-up.
    public func dates(after from: Date, through to: Date, in zone: TimeZone, anchor: Date? = nil, limit: Int = 100_000) -> [Date] {
        var result: [Date] = []
        var cursor = from
        while result.count < limit, let next = nextDate(after: cursor, in: zone, anchor: anchor), next <= to {
            result.append(next)
            cursor = next
        }
        return result
    }

    /// The instants a local wall-clock time (seconds as if UTC) stands for in `zone`:
    /// one normally, two in a repeated hour, none in a skipped hour. Fixed-time
    /// schedules take the first of two, and the end of the gap for none.
    static func resolve(local: Int64, zone: TimeZone, fixed: Bool) -> [Int64] {
        let before = Int64(zone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(local - 86_400))))
        let after = Int64(zone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(local + 86_400))))
        var valid: [Int64] = []
        for offset in Set([before, after]) {
            let instant = local - offset
            if Int64(zone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(instant)))) == offset { valid.append(instant) }
        }
        valid.sort()
        if valid.count > 1 { return fixed ? [valid[0]] : valid }
        if valid.count == 1 { return valid }
        guard fixed else { return [] }
        // In a gap: the transition that opened it, i.e. the first instant after the gap.
        let probe = Date(timeIntervalSince1970: Double(local - before - 86_400))
        guard let transition = zone.nextDaylightSavingTimeTransition(after: probe) else { return [local - before] }
        return [Int64(transition.timeIntervalSince1970.rounded())]
    }
}
