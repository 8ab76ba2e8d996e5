/// An error raised by the core: a bad template, JSON path, duration or value.
///
/// `code` is stable and meant for scripts and tests; `message` is for people and
/// says what was expected and what was found. `offset` is the character position
/// inside the parsed text (0-based) when the problem has one, so file readers can
/// point at the exact column.
public struct CoreError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Stable identifiers for the kinds of problem the core reports.
    public enum Code: String, Sendable {
        case invalidJSONPath = "invalid_json_path"
        case invalidTemplate = "invalid_template"
        case invalidDuration = "invalid_duration"
        case conversionFailed = "conversion_failed"
        case invalidJSON = "invalid_json"
        case invalidCron = "invalid_cron"
        case invalidCondition = "invalid_condition"
    }

    public var code: Code
    public var message: String
    public var offset: Int?

    public init(_ code: Code, _ message: String, offset: Int? = nil) {
        self.code = code
        self.message = message
        self.offset = offset
    }

    public var description: String { message }
}
