/// Durations as written in job files: `10s`, `500ms`, `5m`, `1h30m`, `2d`, or a
/// bare number of seconds.
public enum DurationText {
    /// Parses `text` into a `Duration`.
    public static func parse(_ text: String) throws(CoreError) -> Duration {
        let trimmed = String(text.trimmingSpaces)
        if let seconds = Double(trimmed), seconds.isFinite, seconds >= 0 {
            return try milliseconds(seconds * 1000, text)
        }
        let chars = Array(trimmed)
        var position = 0
        var total: Duration = .zero
        guard !chars.isEmpty else { throw fail(text, "empty duration") }
        while position < chars.count {
            let start = position
            while position < chars.count, chars[position].isASCII, chars[position].isNumber || chars[position] == "." { position += 1 }
            guard position > start, let amount = Double(String(chars[start..<position])) else {
                throw fail(text, "expected a number at '\(String(chars[start...]))'")
            }
            let unitStart = position
            while position < chars.count, chars[position].isLetter { position += 1 }
            let unit = String(chars[unitStart..<position])
            let scale: Double
            switch unit {
            case "ms": scale = 0.001
            case "s": scale = 1
            case "m": scale = 60
            case "h": scale = 3600
            case "d": scale = 86_400
            case "": throw fail(text, "missing unit after '\(String(chars[start..<position]))'")
            default: throw fail(text, "unknown unit '\(unit)'")
            }
            total += try milliseconds(amount * scale * 1000, text)
            guard total <= maximum else { throw tooLong(text) }
        }
        return total
    }

    /// The longest duration a job file may give: 100 years (anything longer is a typo,
    /// and would overflow the arithmetic; found by fuzzing the cron parser's `@every`).
    public static let maximum: Duration = .seconds(100 * 366 * 86_400)

    private static func milliseconds(_ value: Double, _ text: String) throws(CoreError) -> Duration {
        guard value.isFinite, value <= Double(maximum.components.seconds) * 1000 else { throw tooLong(text) }
        return .milliseconds(Int64(value.rounded()))
    }

    private static func tooLong(_ text: String) -> CoreError {
        fail(text, "longer than 100 years")
    }

    /// Short text of a duration: `10s`, `1.5s`, `250ms`, `5m`, `2h`.
    public static func format(_ duration: Duration) -> String {
        let ms = duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
        if ms % 3_600_000 == 0, ms > 0 { return "\(ms / 3_600_000)h" }
        if ms % 60_000 == 0, ms > 0 { return "\(ms / 60_000)m" }
        if ms % 1000 == 0 { return "\(ms / 1000)s" }
        if ms < 1000 { return "\(ms)ms" }
        return "\(Double(ms) / 1000)s"
    }

    private static func fail(_ text: String, _ reason: String) -> CoreError {
        CoreError(.invalidDuration, "invalid duration '\(text)': \(reason); expected forms like '10s', '500ms', '5m', '1h30m'")
    }
}
