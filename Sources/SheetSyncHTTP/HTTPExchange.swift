import SheetSyncCore

/// A response that arrived, successful or not.
public struct HTTPResponseData: Sendable {
    public var status: Int
    public var headers: [(name: String, value: String)]
    /// The body, unless it was too large to keep in memory: then it is in `spilled`
    /// and this is empty. `bodyBytes()` reads either.
    public var body: [UInt8]
    /// A large body, written to a temporary file as it arrived.
    public var spilled: SpilledBody?
    /// The URL that finally answered (after redirects).
    public var url: String

    public init(status: Int, headers: [(name: String, value: String)], body: [UInt8], spilled: SpilledBody? = nil, url: String) {
        self.status = status
        self.headers = headers
        self.body = body
        self.spilled = spilled
        self.url = url
    }

    /// The whole body in memory (read from the temporary file when it was spilled).
    public func bodyBytes() throws(HTTPStepError) -> [UInt8] {
        guard let spilled else { return body }
        return try spilled.readAll()
    }

    /// Size of the body in bytes.
    public var bodyCount: Int { spilled?.count ?? body.count }

    public func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }
}

/// Everything that happened while sending one request: each attempt, and the outcome.
public struct HTTPExchange: Sendable {
    public var attempts: [RequestAttempt]
    public var result: Result<HTTPResponseData, HTTPStepError>

    public var response: HTTPResponseData? { try? result.get() }

    public init(attempts: [RequestAttempt], result: Result<HTTPResponseData, HTTPStepError>) {
        self.attempts = attempts
        self.result = result
    }
}
