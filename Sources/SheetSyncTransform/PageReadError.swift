/// The transform stage's one error: why a job's mapping, a response or a record could
/// not be turned into rows. `code` is stable (a run records it as `error_code`),
/// `message` says what was expected and what was found, and `underlying` keeps the
/// error it came from (the JSON reader's `CoreError`, a value's conversion error).
///
/// Modelled on NIO's `FileSystemError`: one type, a code for the kind of problem, a
/// message for people, the cause for logs and tests.
public struct PageReadError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// The body is not valid JSON.
        case invalidJSON = "invalid_json"
        /// Valid JSON without records where the job expects them.
        case unexpectedResponse = "unexpected_response"
        /// One record's value does not convert to its field's type, or its key is
        /// missing: the record is rejected (`_sheetsync_rejects`), the page goes on.
        case conversionFailed = "conversion_failed"
        /// The job's mapping does not fit the schema (a field or child worksheet that
        /// does not exist, children not linked to the parent's key).
        case invalidJob = "invalid_job"
    }

    public var code: Code
    public var message: String
    /// The error underneath, kept for logs and tests; its text is already in `message`
    /// where a user needs it.
    public var underlying: (any Error)?

    public init(_ code: Code, _ message: String, underlying: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.underlying = underlying
    }

    public var description: String { message }
}
