import SheetSyncCore

/// A request with every template filled in, ready to send.
public struct PreparedRequest: Sendable {
    public var method: HTTPRequestSpec.Method
    /// The full URL, query included.
    public var url: String
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]?
    public var timeout: Duration
    public var useProxy: Bool
    public var verifyTLS: Bool
    /// Absolute path of a PEM file of extra trusted CAs.
    public var caFile: String?
    public var successCodes: [Int]?
    public var retry: RetryPolicy
    public var error: ErrorExtraction?
    public var maxResponseBytes: Int
    /// Lowercased names of the headers whose template uses a secret; with
    /// `Origin.credentialHeaders` these never leave the job's origin.
    public var secretHeaders: Set<String> = []

    public init(method: HTTPRequestSpec.Method, url: String, headers: [(name: String, value: String)] = [], body: [UInt8]? = nil,
                timeout: Duration = HTTPRequestSpec.defaultTimeout, useProxy: Bool = false, verifyTLS: Bool = true, caFile: String? = nil,
                successCodes: [Int]? = nil, retry: RetryPolicy = RetryPolicy(), error: ErrorExtraction? = nil,
                maxResponseBytes: Int = HTTPDefaults.defaultMaxResponseBytes) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeout = timeout
        self.useProxy = useProxy
        self.verifyTLS = verifyTLS
        self.caFile = caFile
        self.successCodes = successCodes
        self.retry = retry
        self.error = error
        self.maxResponseBytes = maxResponseBytes
    }

    /// Whether `status` counts as success: the configured list, else any 2xx.
    public func isSuccess(_ status: Int) -> Bool {
        successCodes?.contains(status) ?? (200...299).contains(status)
    }

    /// The origin of `url`, or nil when it is not an http(s) URL sheetsync may request.
    public var origin: Origin? { Origin(url: url) }

    /// Whether a header carries credentials: named so by HTTP, or filled from a secret.
    public func isCredential(_ name: String) -> Bool {
        let lowered = name.lowercased()
        return Origin.credentialHeaders.contains(lowered) || secretHeaders.contains(lowered)
    }

    /// Drops every credential header, for a request that leaves the job's origin.
    public mutating func dropCredentials() {
        let secretHeaders = secretHeaders
        headers.removeAll { Origin.credentialHeaders.contains($0.name.lowercased()) || secretHeaders.contains($0.name.lowercased()) }
    }

    public func header(_ name: String) -> String? {
        headers.last { $0.name.lowercased() == name.lowercased() }?.value
    }
}
