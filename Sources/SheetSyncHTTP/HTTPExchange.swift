import SheetSyncCore

/// A response that arrived, successful or not.
public struct HTTPResponseData: Sendable {
    public var status: Int
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]
    /// The URL that finally answered (after redirects).
    public var url: String

    public init(status: Int, headers: [(name: String, value: String)], body: [UInt8], url: String) {
        self.status = status
        self.headers = headers
        self.body = body
        self.url = url
    }

    public func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }
}

/// Everything that happened while sending one request: each attempt, and the outcome.
public struct HTTPExchange: Sendable {
    public var attempts: [RequestAttempt]
    public var result: Result<HTTPResponseData, HTTPStepError>

    public var response: HTTPResponseData? { try? result.get() }
}
