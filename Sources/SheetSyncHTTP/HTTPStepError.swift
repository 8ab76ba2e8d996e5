/// Why a request step failed, in words a user can act on.
public struct HTTPStepError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// No response within the timeout.
        case timeout
        /// Could not connect, or the connection broke.
        case connection
        /// TLS handshake or certificate problem.
        case tls
        /// A response whose status is not a success code.
        case status
        /// The response body is larger than the cap.
        case tooLarge = "too_large"
        /// The request could not be built (template, file, URL).
        case invalidRequest = "invalid_request"
        /// A redirect that was not followed (non-GET, too many, missing Location).
        case redirect
        /// A URL sheetsync will not request: another scheme than http/https, an https →
        /// http downgrade, or a next-page URL on an origin the job does not allow.
        case refusedURL = "refused_url"
        /// The proxy refused the credentials of sheetsync.yml (407); not retried.
        case proxyAuthentication = "proxy_authentication"
        /// A 2xx response whose body reports an error (`request.error.when`).
        case errorResponse = "error_response"
    }

    public var code: Code
    public var message: String
    /// The HTTP status of the last response, if there was one.
    public var status: Int?
    /// Error code and message read from the response body (`request.error`).
    public var remoteCode: String?
    public var remoteMessage: String?
    /// The receiver's `Retry-After`, when it sent one.
    public var retryAfter: Duration?
    /// The response that was not a success, for `sheetsync test` to show (masked there);
    /// never logged or recorded as it is.
    public var response: HTTPResponseData?
    /// True when the request cannot have reached the server: the failure came while
    /// connecting (refused, unreachable, no such host, connect timeout, the proxy's
    /// tunnel), so sending it again repeats nothing, whatever the method.
    public var isBeforeSending = false
    /// The error underneath (NIO's, TLS's), kept for logs and for tests; never shown
    /// as it is, since its text may hold anything.
    public var underlying: (any Error & Sendable)?

    public init(_ code: Code, _ message: String, status: Int? = nil, remoteCode: String? = nil, remoteMessage: String? = nil,
                underlying: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.status = status
        self.remoteCode = remoteCode
        self.remoteMessage = remoteMessage
        self.underlying = underlying
    }

    public var description: String { message }
}
