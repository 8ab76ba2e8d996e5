import Foundation

/// A job schedule: five-field cron, an `@` macro, or `@every <duration>`.
///
/// Fields: minute (0–59), hour (0–23), day of month (1–31), month (1–12 or
/// `jan`…`dec`), day of week (0–7 or `sun`…`sat`; 0 and 7 are Sunday). Each field is
/// `*`, a value, a range `a-b`, a step `*/n` or `a-b/n` or `a/n`, or a list of those.
/// Macros: `@yearly` (`@annually`), `@monthly`, `@weekly`, `@daily` (`@midnight`),
/// `@hourly`. As in classic cron, when both day fields are restricted a day matching
/// either one runs.
public struct CronExpression: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        case fields(minutes: Set<Int>, hours: Set<Int>, daysOfMonth: Set<Int>, months: Set<Int>, daysOfWeek: Set<Int>,
                    dayOfMonthRestricted: Bool, dayOfWeekRestricted: Bool)
        /// `@every 90s`: a fixed interval of real time.
        case every(Duration)
    }

    public let kind: Kind
    public let text: String

    public var description: String { text }

    /// True when the schedule fires at fixed wall-clock hours (the hour field is
    /// restricted): such times follow the local clock across daylight saving, while
    /// hourly and finer schedules follow real elapsed time.
    public var isFixedTime: Bool {
        if case .fields(_, let hours, _, _, _, _, _) = kind { return hours.count < 24 }
        return false
    }

    public init(parsing text: String) throws(CoreError) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        self.text = trimmed
        if trimmed.hasPrefix("@") {
            let macros = ["@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *", "@weekly": "0 0 * * 0",
                          "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *"]
            if let expansion = macros[trimmed.lowercased()] {
                self.kind = try CronExpression(parsing: expansion).kind
                return
            }
            if trimmed.lowercased().hasPrefix("@every") {
                let rest = trimmed.dropFirst(6).trimmingCharacters(in: .whitespaces)
                guard !rest.isEmpty else { throw CoreError(.invalidCron, "invalid schedule '\(text)': '@every' needs a duration, as in '@every 5m'", offset: 0) }
                let interval: Duration
                do {
                    interval = try DurationText.parse(rest)
                } catch {
                    throw CoreError(.invalidCron, "invalid schedule '\(text)': \(error.message)", offset: 7)
                }
                guard interval >= .seconds(1) else { throw CoreError(.invalidCron, "invalid schedule '\(text)': '@every' needs at least 1s", offset: 7) }
                self.kind = .every(interval)
                return
            }
            let known = Array(macros.keys) + ["@every"]
            throw CoreError(.invalidCron, "invalid schedule '\(text)': unknown macro '\(trimmed)'\(Suggestion.didYouMean(trimmed, in: known)) (macros: @yearly, @monthly, @weekly, @daily, @hourly, @every <duration>)", offset: 0)
        }
        // Split into fields, remembering where each starts for error positions.
        var fields: [(text: String, offset: Int)] = []
        var current = ""
        var start = 0
        for (index, character) in text.enumerated() {
            if character == " " || character == "\t" {
                if !current.isEmpty { fields.append((current, start)); current = "" }
            } else {
                if current.isEmpty { start = index }
                current.append(character)
            }
        }
        if !current.isEmpty { fields.append((current, start)) }
        guard fields.count == 5 else {
            throw CoreError(.invalidCron, "invalid schedule '\(text)': expected 5 fields (minute hour day-of-month month day-of-week), found \(fields.count)\(fields.count == 6 ? "; seconds are not supported, use '@every 30s'" : "")", offset: 0)
        }
        let months = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
        let days = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
        let minutes = try Self.field(fields[0], name: "minute", range: 0...59, names: [:], text: text)
        let hours = try Self.field(fields[1], name: "hour", range: 0...23, names: [:], text: text)
        let daysOfMonth = try Self.field(fields[2], name: "day of month", range: 1...31, names: [:], text: text)
        let monthSet = try Self.field(fields[3], name: "month", range: 1...12,
                                      names: Dictionary(uniqueKeysWithValues: months.enumerated().map { ($1, $0 + 1) }), text: text)
        var weekdays = try Self.field(fields[4], name: "day of week", range: 0...7,
                                      names: Dictionary(uniqueKeysWithValues: days.enumerated().map { ($1, $0) }), text: text)
        if weekdays.contains(7) { weekdays.remove(7); weekdays.insert(0) }
        // `0 0 30 2 *` parses but never fires (no February 30th); the scheduler would wait
        // forever without a word. With a day of week too, either may match (cron's rule).
        let longest = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        if fields[4].text.hasPrefix("*"),
           !monthSet.contains(where: { month in daysOfMonth.contains { $0 <= longest[month - 1] } }) {
            let dayList = daysOfMonth.sorted().map(String.init).joined(separator: ",")
            let monthList = monthSet.sorted().map { months[$0 - 1].capitalized }.joined(separator: ", ")
            throw CoreError(.invalidCron, "invalid schedule '\(text)': it never fires, no month of \(monthList) has a day \(dayList)", offset: fields[2].offset)
        }
        self.kind = .fields(minutes: minutes, hours: hours, daysOfMonth: daysOfMonth, months: monthSet, daysOfWeek: weekdays,
                            dayOfMonthRestricted: !fields[2].text.hasPrefix("*"), dayOfWeekRestricted: !fields[4].text.hasPrefix("*"))
    }

    private static func field(_ field: (text: String, offset: Int), name: String, range: ClosedRange<Int>,
                              names: [String: Int], text: String) throws(CoreError) -> Set<Int> {
        var values = Set<Int>()
        var offset = field.offset
        for part in field.text.split(separator: ",", omittingEmptySubsequences: false) {
            func fail(_ reason: String) -> CoreError {
                CoreError(.invalidCron, "invalid schedule '\(text)': \(reason) in the \(name) field", offset: offset)
            }
            func value(_ token: Substring) throws(CoreError) -> Int {
                if let number = Int(token) {
                    guard range.contains(number) else { throw fail("\(number) is out of range \(range.lowerBound)-\(range.upperBound)") }
                    return number
                }
                if let named = names[token.lowercased()] { return named }
                if token.isEmpty { throw fail("a value is missing") }
                throw fail("'\(token)' is not a number\(names.isEmpty ? "" : " or a name such as '\(names.keys.sorted().first!)'")")
            }
            let pieces = part.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
            var step = 1
            if pieces.count == 2 {
                guard let parsed = Int(pieces[1]), parsed > 0 else { throw fail("step '\(pieces[1])' must be a positive number") }
                step = parsed
            }
            let base = pieces[0]
            var low = range.lowerBound, high = range.upperBound
            if base == "*" {
                // whole range
            } else if let dash = base.firstIndex(of: "-") {
                low = try value(base[..<dash])
                high = try value(base[base.index(after: dash)...])
                guard low <= high else { throw fail("range \(base) runs backwards") }
            } else {
                low = try value(base)
                if pieces.count == 1 { high = low }
            }
            values.formUnion(stride(from: low, through: high, by: step))
            offset += part.count + 1
        }
        return values
    }
}
