import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import SheetSyncCore

/// Sends requests: one HTTP client per process (plus one for the proxy, if set),
/// with timeouts, a response size cap, retries with backoff and jitter honouring
/// `Retry-After`, and redirects handled by sheetsync itself.
///
/// Redirects are followed for GET and HEAD only, at most 10, to http and https URLs
/// only, never from https to http; credential headers are dropped when a redirect
/// leaves the request's origin (scheme, host and port; see `Origin`).
public final class HTTPTransport: Sendable {
    /// Proxy settings with secrets already filled in.
    public struct Proxy: Sendable {
        public var host: String
        public var port: Int
        public var username: String?
        public var password: String?

        public init(host: String, port: Int, username: String? = nil, password: String? = nil) {
            self.host = host
            self.port = port
            self.username = username
            self.password = password
        }
    }

    public static let maxRedirects = 10

    let direct: HTTPClient
    let proxied: HTTPClient?
    /// Why the project's proxy cannot be used (its secret is not set): only requests with
    /// `proxy: true` fail, with this message.
    let proxyProblem: String?
    /// The event loop `sendOnce` sends from: one thread for the sending side, so that the
    /// caller's work (a push pass's ledger) has the other core.
    let sendingLoop: any EventLoop
    /// How long to wait between attempts; tests may shorten it.
    private let sleep: @Sendable (Duration) async throws -> Void

    /// Bodies larger than this go to a temporary file as they arrive (see `SpilledBody`).
    public static let defaultSpillBytes = 16 * 1024 * 1024
    private let spillBytes: Int

    /// - Parameter proxyProblem: why the project's proxy cannot be used, when it cannot
    ///   (then `proxy` is nil); requests through the proxy fail with it, others go out.
    public init(proxy: Proxy? = nil, proxyProblem: String? = nil, spillBytes: Int = HTTPTransport.defaultSpillBytes,
                sleep: @escaping @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) }) {
        self.spillBytes = spillBytes
        self.proxyProblem = proxyProblem
        var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow, timeout: .init(connect: .seconds(10)))
        configuration.httpVersion = .http1Only
        // sheetsync retries with its own policy (attempts, backoff, jitter), so a refused
        // connection should fail now and say why, not wait out the whole timeout.
        configuration.connectionPool.retryConnectionEstablishment = false
        // As many connections as a job asks to have requests in flight (push `concurrency`
        // and step `concurrency` go up to 256): the default of 8 queued the rest.
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 256
        sendingLoop = HTTPClient.defaultEventLoopGroup.next()
        direct = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
        if let proxy {
            var proxyConfiguration = configuration
            let authorization = proxy.username.map { HTTPClient.Authorization.basic(username: $0, password: proxy.password ?? "") }
            proxyConfiguration.proxy = .server(host: proxy.host, port: proxy.port, authorization: authorization)
            proxied = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: proxyConfiguration)
        } else {
            proxied = nil
        }
        self.sleep = sleep
    }

    /// Closes the connections. Call once, when the process is done sending.
    public func shutdown() async {
        try? await direct.shutdown()
        try? await proxied?.shutdown()
    }

    /// Sends `request`, retrying as its policy says, and reports every attempt.
    ///
    /// A request that may have reached the server — a timeout, a connection lost after
    /// sending, a retried status other than 429 and 503 (a gateway's 502 or 504 says
    /// nothing about the API behind it) — is sent again only when that is harmless: an
    /// idempotent method, or `retry.non_idempotent` (see `RetryPolicy`). A POST that timed
    /// out may be running still; sending it again could do its work twice.
    public func send(_ request: PreparedRequest, redactor: Redactor) async -> HTTPExchange {
        var attempts: [RequestAttempt] = []
        let policy = request.retry
        var attempt = 0
        while true {
            attempt += 1
            let started = ContinuousClock.now
            var record = RequestAttempt(method: request.method.rawValue, url: redactor.redact(request.url), status: nil,
                                        durationMilliseconds: 0, bytes: 0, attempt: attempt, error: nil)
            let outcome: Result<HTTPResponseData, HTTPStepError>
            do {
                outcome = .success(try await performFollowingRedirects(request))
            } catch {
                outcome = .failure(error)
            }
            record.durationMilliseconds = Int((ContinuousClock.now - started).components.seconds * 1000
                + (ContinuousClock.now - started).components.attoseconds / 1_000_000_000_000_000)
            let canRetry = attempt < policy.attempts
            switch outcome {
            case .success(let response):
                record.status = response.status
                record.bytes = response.bodyCount
                if request.isSuccess(response.status) {
                    guard var failure = errorInBody(response, request: request, redactor: redactor) else {
                        attempts.append(record)
                        return HTTPExchange(attempts: attempts, result: .success(response))
                    }
                    // `request.error.when`: the server reports an error in a 2xx answer.
                    record.error = failure.message
                    attempts.append(record)
                    if canRetry, request.error?.retry == true {
                        try? await sleep(backoff(attempt, policy))
                        continue
                    }
                    if attempt > 1 { failure.message += " (after \(attempt) attempts)" }
                    return HTTPExchange(attempts: attempts, result: .failure(failure))
                }
                let failure = statusError(response, request: request, redactor: redactor)
                record.error = failure.message
                attempts.append(record)
                let repeatable = policy.mayRepeat(request.method) || RetryPolicy.notActedOnStatuses.contains(response.status)
                if canRetry, policy.on.contains(response.status), repeatable {
                    let retryAfter = response.header("Retry-After").flatMap { RetryAfter.delay($0, now: Self.now()) }
                    if let retryAfter, retryAfter > Self.maxRetryAfter {
                        var error = failure
                        error.message += "; the server asked to retry after \(DurationText.format(retryAfter)), longer than sheetsync waits (\(DurationText.format(Self.maxRetryAfter)))"
                        return HTTPExchange(attempts: attempts, result: .failure(error))
                    }
                    try? await sleep(retryAfter ?? backoff(attempt, policy))
                    continue
                }
                var error = failure
                if attempt > 1 { error.message += " (after \(attempt) attempts)" }
                if canRetry, policy.on.contains(response.status), !repeatable {
                    error.message += Self.notSentAgain(request.method, after: "an HTTP \(response.status) (a gateway's answer: the API behind it may have acted)")
                }
                return HTTPExchange(attempts: attempts, result: .failure(error))
            case .failure(let failure):
                record.error = redactor.redact(failure.message)
                attempts.append(record)
                let transient = failure.code == .timeout || failure.code == .connection
                let repeatable = failure.isBeforeSending || policy.mayRepeat(request.method)
                if transient, canRetry, repeatable {
                    try? await sleep(backoff(attempt, policy))
                    continue
                }
                var error = failure
                error.message = redactor.redact(error.message)
                if attempt > 1 { error.message += " (after \(attempt) attempts)" }
                if transient, canRetry, !repeatable {
                    error.message += Self.notSentAgain(request.method, after: failure.code == .timeout ? "a timeout" : "a connection lost after sending")
                }
                return HTTPExchange(attempts: attempts, result: .failure(error))
            }
        }
    }

    /// Why a failed request was not retried although attempts were left.
    static func notSentAgain(_ method: HTTPRequestSpec.Method, after what: String) -> String {
        "; not sent again: after \(what) a \(method.rawValue) may have reached the server, and sending it twice could do its work twice. If repeating it is harmless (a search that only reads), set 'retry.non_idempotent: true'"
    }

    /// A `Retry-After` longer than this is not waited for: the step fails and says so.
    public static let maxRetryAfter: Duration = .seconds(600)

    /// Exponential backoff with "equal jitter": half fixed, half random.
    func backoff(_ attempt: Int, _ policy: RetryPolicy) -> Duration {
        let base = policy.initialDelay * (1 << min(attempt - 1, 20))
        let capped = min(base, policy.maxDelay)
        return capped / 2 + capped / 2 * Double.random(in: 0...1)
    }

    static func now() -> UTCDateTime {
        let interval = Date().timeIntervalSince1970
        return UTCDateTime(seconds: Int64(interval), nanoseconds: Int32((interval - interval.rounded(.down)) * 1e9))
    }

    // MARK: - One attempt

    /// Sends `request`, following redirects for GET and HEAD under the origin rules
    /// (see `Origin`): only http and https, never https → http, and no credential
    /// header once a redirect leaves the request's origin — not even when a later
    /// redirect comes back to it.
    private func performFollowingRedirects(_ request: PreparedRequest) async throws(HTTPStepError) -> HTTPResponseData {
        var current = request
        guard let origin = request.origin else {
            throw HTTPStepError(.refusedURL, "refused to request '\(request.url)': \(Origin.refusal(for: request.url) ?? "not an http(s) URL")")
        }
        var previous = origin
        for _ in 0...Self.maxRedirects {
            let response = try await perform(current)
            guard [301, 302, 303, 307, 308].contains(response.status) else { return response }
            guard current.method == .GET || current.method == .HEAD else {
                // Other methods are not replayed to a new location: the response is returned as it is.
                return response
            }
            guard let location = response.header("Location"),
                  let next = URL(string: location, relativeTo: URL(string: current.url))?.absoluteURL else {
                throw HTTPStepError(.redirect, "HTTP \(response.status) redirect without a usable Location header", status: response.status)
            }
            let target = next.absoluteString
            guard let nextOrigin = Origin(url: target) else {
                throw HTTPStepError(.refusedURL, "HTTP \(response.status) redirect to '\(target)' not followed: \(Origin.refusal(for: target) ?? "not an http(s) URL")", status: response.status)
            }
            if previous.isDowngrade(to: nextOrigin) {
                throw HTTPStepError(.refusedURL, "HTTP \(response.status) redirect from https to '\(target)' not followed: sheetsync never downgrades a request to plain http; point the job at the https URL", status: response.status)
            }
            if nextOrigin != origin {
                // Never carry credentials to another origin (scheme, host or port).
                current.dropCredentials()
            }
            previous = nextOrigin
            current.url = target
        }
        throw HTTPStepError(.redirect, "more than \(Self.maxRedirects) redirects; the server is redirecting in a loop or too far")
    }

    /// The client for `request` (direct or through the proxy) and its TLS settings when
    /// they differ from the default; throws when the request cannot go out as configured.
    func connection(for request: PreparedRequest) throws(HTTPStepError) -> (client: HTTPClient, tls: TLSConfiguration?) {
        var tls: TLSConfiguration?
        if !request.verifyTLS || request.caFile != nil {
            var custom = TLSConfiguration.makeClientConfiguration()
            if !request.verifyTLS { custom.certificateVerification = .none }
            if let caFile = request.caFile {
                guard FileManager.default.fileExists(atPath: caFile) else {
                    throw HTTPStepError(.invalidRequest, "ca_file '\(caFile)' does not exist; give the path of a PEM file, relative to the project")
                }
                custom.trustRoots = .file(caFile)
            }
            tls = custom
        }
        if request.useProxy, proxied == nil {
            throw HTTPStepError(.invalidRequest, proxyProblem.map { "the job sets 'proxy: true', but \($0)" }
                ?? "the job sets 'proxy: true' but sheetsync.yml has no 'proxy:' section; add one with the proxy's url")
        }
        return (request.useProxy ? (proxied ?? direct) : direct, tls)
    }

    private func perform(_ request: PreparedRequest) async throws(HTTPStepError) -> HTTPResponseData {
        var outgoing = HTTPClientRequest(url: request.url)
        outgoing.method = HTTPMethod(rawValue: request.method.rawValue)
        for header in request.headers { outgoing.headers.add(name: header.name, value: header.value) }
        if let body = request.body {
            outgoing.body = .bytes(ByteBuffer(bytes: body))
        }
        let (client, tls) = try connection(for: request)
        if let tls { outgoing.tlsConfiguration = tls }
        let timeout = request.timeout
        let limit = request.maxResponseBytes
        let spillBytes = self.spillBytes
        let prepared = outgoing
        let method = request.method
        do {
            return try await withDeadline(timeout) {
                let response = try await client.execute(prepared, timeout: .nanoseconds(Int64(timeout.components.seconds) * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000))
                if let length = response.headers.first(name: "Content-Length").flatMap(Int.init), length > limit {
                    throw HTTPStepError(.tooLarge, "the response is \(length) bytes, more than the limit of \(limit) bytes; raise 'max_response_bytes' or fetch smaller pages", status: Int(response.status.code))
                }
                let length = response.headers.first(name: "Content-Length").flatMap(Int.init)
                var collector = BodyCollector(spillBytes: spillBytes, expected: length)
                if method != .HEAD {
                    do {
                        var received = 0
                        for try await chunk in response.body {
                            received += chunk.readableBytes
                            if received > limit {
                                throw HTTPStepError(.tooLarge, "the response is larger than the limit of \(limit) bytes; raise 'max_response_bytes' or fetch smaller pages", status: Int(response.status.code))
                            }
                            try chunk.withUnsafeReadableBytes { buffer in try collector.append(buffer) }
                        }
                    } catch {
                        collector.discard()
                        throw error
                    }
                }
                let (bytes, spilled) = try collector.finish()
                return HTTPResponseData(status: Int(response.status.code), headers: response.headers.map { ($0.name, $0.value) },
                                        body: bytes, spilled: spilled, url: request.url)
            }
        } catch let error as HTTPStepError {
            throw error
        } catch {
            throw classify(error, request: request)
        }
    }

    private func withDeadline<T: Sendable>(_ timeout: Duration, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await body() }
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let value = first else {
                throw HTTPStepError(.timeout, "no complete response within \(DurationText.format(timeout)) (the request timeout); raise 'request.timeout' if the server is slow")
            }
            return value
        }
    }
}

