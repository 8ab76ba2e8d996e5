/// One HTTP request as configured in a job: the "Send API Request" step.
public struct HTTPRequestSpec: Sendable, Hashable {
    public enum Method: String, Sendable, CaseIterable {
        case GET, POST, PUT, PATCH, DELETE, HEAD

        /// Whether sending the request twice has the effect of sending it once (RFC 9110
        /// §9.2.2): GET, HEAD, PUT and DELETE are; POST and PATCH are not.
        public var isIdempotent: Bool {
            switch self {
            case .GET, .HEAD, .PUT, .DELETE: true
            case .POST, .PATCH: false
            }
        }
    }

    /// What happens to the run when the request finally fails.
    public enum FailurePolicy: String, Sendable, CaseIterable {
        /// Stop the run at this step and mark it failed.
        case terminate
        /// Record the failure and go on with what does not depend on this step.
        case `continue`
    }

    public var method: Method
    public var url: Template
    public var query: [NamedTemplate]
    public var headers: [NamedTemplate]
    public var body: RequestBody?
    /// Default 10 seconds, as in the reference product.
    public var timeout: Duration
    /// Send through the proxy configured in sheetsync.yml.
    public var proxy: Bool
    public var verifyTLS: Bool
    /// PEM file of extra trusted CA certificates, relative to the project.
    public var caFile: String?
    /// Status codes that count as success; `nil` means any 2xx.
    public var successCodes: [Int]?
    public var error: ErrorExtraction?
    public var onFailure: FailurePolicy
    public var retry: RetryPolicy
    /// Largest response body accepted; `nil` uses sheetsync.yml's (default 64 MiB).
    public var maxResponseBytes: Int?

    public static let defaultTimeout: Duration = .seconds(10)

    public init(method: Method = .GET, url: Template, query: [NamedTemplate] = [], headers: [NamedTemplate] = [],
                body: RequestBody? = nil, timeout: Duration = HTTPRequestSpec.defaultTimeout, proxy: Bool = false,
                verifyTLS: Bool = true, caFile: String? = nil, successCodes: [Int]? = nil, error: ErrorExtraction? = nil,
                onFailure: FailurePolicy = .terminate, retry: RetryPolicy = RetryPolicy(), maxResponseBytes: Int? = nil) {
        self.method = method
        self.url = url
        self.query = query
        self.headers = headers
        self.body = body
        self.timeout = timeout
        self.proxy = proxy
        self.verifyTLS = verifyTLS
        self.caFile = caFile
        self.successCodes = successCodes
        self.error = error
        self.onFailure = onFailure
        self.retry = retry
        self.maxResponseBytes = maxResponseBytes
    }

    /// Every template in the request, for validation.
    public var templates: [Template] {
        var all = [url] + query.map(\.value) + headers.map(\.value)
        if let body { all += body.templates }
        return all
    }
}

/// A name with a template value: a query parameter, header or form field.
public struct NamedTemplate: Sendable, Hashable {
    public var name: String
    public var value: Template

    public init(name: String, value: Template) {
        self.name = name
        self.value = value
    }
}

/// `request.error`: where the error code and message of a failed response sit in its
/// body, and — with `when` — which successful (2xx) responses are failures all the same,
/// for APIs that answer `200 {"error_code": 10001, "reason": "KEY error"}`.
public struct ErrorExtraction: Sendable, Hashable {
    public var code: JSONPath?
    public var message: JSONPath?
    /// A 2xx response whose JSON body meets this is a failed request.
    public var when: ResponseCondition?
    /// Whether such a failure is retried (with `retry`'s attempts and delays). Off by
    /// default: an error reported in a 200 is usually about the request (a bad key), which
    /// sending it again does not fix.
    public var retry = false

    public init(code: JSONPath? = nil, message: JSONPath? = nil, when: ResponseCondition? = nil, retry: Bool = false) {
        self.code = code
        self.message = message
        self.when = when
        self.retry = retry
    }
}

/// Which failures are retried, how often, and how long to wait.
///
/// A failure after which the request may have reached the server (a timeout, a
/// connection lost after sending, a status in `on` other than 429 and 503) is retried
/// only when sending the request twice is harmless: an idempotent method, or
/// `nonIdempotent` (the job says its POST only reads, as search APIs do). A connection
/// that failed before anything was sent, and 429 and 503 in `on`, are retried for every
/// method.
public struct RetryPolicy: Sendable, Hashable {
    /// Total attempts, the first included.
    public var attempts: Int
    /// Status codes retried.
    public var on: [Int]
    /// First backoff delay; it doubles each attempt, with jitter, capped by `maxDelay`.
    public var initialDelay: Duration
    public var maxDelay: Duration
    /// `retry.non_idempotent`: repeat a POST or PATCH that may have reached the server.
    public var nonIdempotent: Bool

    public static let defaultStatuses = [429, 502, 503, 504]
    /// Statuses that say the server did not act on the request (RFC 6585, RFC 9110):
    /// retried, when listed in `on`, whatever the method.
    public static let notActedOnStatuses: Set<Int> = [429, 503]

    public init(attempts: Int = 3, on: [Int] = RetryPolicy.defaultStatuses, initialDelay: Duration = .seconds(1), maxDelay: Duration = .seconds(60),
                nonIdempotent: Bool = false) {
        self.attempts = attempts
        self.on = on
        self.initialDelay = initialDelay
        self.maxDelay = maxDelay
        self.nonIdempotent = nonIdempotent
    }

    /// Whether a request with `method` may be sent again after a failure that may have
    /// reached the server.
    public func mayRepeat(_ method: HTTPRequestSpec.Method) -> Bool {
        method.isIdempotent || nonIdempotent
    }
}

/// A request body in one of the forms the reference product offers.
public enum RequestBody: Sendable, Hashable {
    /// A JSON document; strings are templates, and a string that is exactly one
    /// reference becomes that value with its JSON type.
    case json(JSONTemplate)
    /// `application/x-www-form-urlencoded`.
    case form([NamedTemplate])
    /// `multipart/form-data` with text fields and files.
    case multipart([MultipartPart])
    /// Text sent as is, with its content type.
    case raw(Template, contentType: String)
    /// One file as the whole body ("binary": one attachment per request).
    case binary(path: Template, contentType: String)
    /// Push jobs: the whole record as a JSON object ("Send Specified Data Object").
    case record

    public var templates: [Template] {
        switch self {
        case .json(let json): json.templates
        case .form(let fields): fields.map(\.value)
        case .multipart(let parts): parts.flatMap(\.templates)
        case .raw(let text, _): [text]
        case .binary(let path, _): [path]
        case .record: []
        }
    }
}

/// One part of a `multipart/form-data` body.
public struct MultipartPart: Sendable, Hashable {
    public enum Content: Sendable, Hashable {
        case text(Template)
        /// `filename` is a template like the path (default: the file's own name).
        case file(path: Template, filename: Template?, contentType: String?)
    }

    public var name: String
    public var content: Content

    public init(name: String, content: Content) {
        self.name = name
        self.content = content
    }

    var templates: [Template] {
        switch content {
        case .text(let value): [value]
        case .file(let path, let filename, _): [path] + (filename.map { [$0] } ?? [])
        }
    }
}

/// A JSON document whose strings are templates.
public indirect enum JSONTemplate: Sendable, Hashable {
    case null
    case bool(Bool)
    case number(String)
    case string(Template)
    case array([JSONTemplate])
    case object([Member])

    public struct Member: Sendable, Hashable {
        public var key: String
        public var value: JSONTemplate

        public init(key: String, value: JSONTemplate) {
            self.key = key
            self.value = value
        }
    }

    public var templates: [Template] {
        switch self {
        case .null, .bool, .number: []
        case .string(let template): [template]
        case .array(let elements): elements.flatMap(\.templates)
        case .object(let members): members.flatMap(\.value.templates)
        }
    }
}
