/// One attempt at an HTTP request, as recorded in `_sheetsync_requests` (URL redacted).
/// Shared by the HTTP stage (which makes attempts) and the store (which records them).
public struct RequestAttempt: Sendable, Equatable {
    public var method: String
    public var url: String
    public var status: Int?
    public var durationMilliseconds: Int
    public var bytes: Int
    public var attempt: Int
    public var error: String?

    public init(method: String, url: String, status: Int?, durationMilliseconds: Int, bytes: Int, attempt: Int, error: String?) {
        self.method = method
        self.url = url
        self.status = status
        self.durationMilliseconds = durationMilliseconds
        self.bytes = bytes
        self.attempt = attempt
        self.error = error
    }
}

