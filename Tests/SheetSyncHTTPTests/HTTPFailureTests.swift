import Foundation
import Testing
import SheetSyncCore
@testable import SheetSyncHTTP
import SheetSyncTesting

/// Timeouts, success codes, error extraction, retries and size caps.
struct HTTPFailureTests {
    let noRedaction = Redactor(secrets: [])

    func exchange(_ spec: HTTPRequestSpec, transport: HTTPTransport, error: ErrorExtraction? = nil) async throws -> HTTPExchange {
        var spec = spec
        spec.error = error
        let request = try RequestBuilder(projectDirectory: URL(fileURLWithPath: "/tmp")).build(spec, values: TemplateValues())
        return await transport.send(request, redactor: noRedaction)
    }

    @Test func defaultTimeoutIsTenSeconds() {
        #expect(HTTPRequestSpec(url: template("http://x")).timeout == .seconds(10))
    }

    @Test func timesOutAtTheConfiguredTimeout() async throws {
        try await withEdgeServer { server, _ in
            try await withTransport { transport in
                // One attempt: the retries' backoff (up to 3 s) took a loaded machine past the bound.
                var once = spec(.GET, server.baseURL + "/slow/10000", timeout: .milliseconds(300))
                once.retry.attempts = 1
                let started = ContinuousClock.now
                let result = try await exchange(once, transport: transport)
                let elapsed = ContinuousClock.now - started
                guard case .failure(let error) = result.result else { Issue.record("no timeout"); return }
                #expect(error.code == .timeout)
                #expect(error.message.contains("within 300ms"))
                // Long before the server's answer (10 s) and the default timeout (10 s), with
                // room for a loaded machine: the configured 300 ms is what fired.
                #expect(elapsed < .seconds(5))
            }
        }
    }

    @Test func successCodesDecide() async throws {
        try await withEdgeServer { server, _ in
            try await withTransport { transport in
                let created = try await exchange(spec(.GET, server.baseURL + "/status/201"), transport: transport)
                #expect(created.response?.status == 201)
                let strict = try await exchange(spec(.GET, server.baseURL + "/status/201", successCodes: [200]), transport: transport)
                guard case .failure(let error) = strict.result else { Issue.record("201 accepted with success_codes [200]"); return }
                #expect(error.status == 201)
                #expect(error.message.contains("expected 200"))
                let notFoundIsFine = try await exchange(spec(.GET, server.baseURL + "/status/404", successCodes: [200, 404]), transport: transport)
                #expect(notFoundIsFine.response?.status == 404)
            }
        }
    }

    @Test func errorCodeAndMessageAreExtracted() async throws {
        try await withEdgeServer { server, _ in
            try await withTransport { transport in
                let extraction = ErrorExtraction(code: try JSONPath(parsing: "$.error.code"), message: try JSONPath(parsing: "$.error.message"))
                let result = try await exchange(spec(.GET, server.baseURL + "/status/422"), transport: transport, error: extraction)
                guard case .failure(let error) = result.result else { Issue.record("422 accepted"); return }
                #expect(error.remoteCode == "E422")
                #expect(error.remoteMessage == "status 422 as asked")
                #expect(error.message == "HTTP 422 from GET \(server.baseURL)/status/422 (expected 2xx): [E422] status 422 as asked")
            }
        }
    }

    @Test func retriesA429HonouringRetryAfter() async throws {
        try await withEdgeServer { server, hits in
            try await withTransport { transport in
                let started = ContinuousClock.now
                let result = try await exchange(spec(.GET, server.baseURL + "/flaky/a", retry: RetryPolicy(attempts: 3, initialDelay: .milliseconds(10))), transport: transport)
                let elapsed = ContinuousClock.now - started
                #expect(result.response?.status == 200)
                #expect(result.attempts.map(\.status) == [429, 200])
                #expect(result.attempts.map(\.attempt) == [1, 2])
                #expect(elapsed >= .milliseconds(950), "Retry-After: 1 was not honoured")
                #expect(await hits.count("a") == 2)
            }
        }
    }

    @Test func givesUpAfterTheConfiguredAttempts() async throws {
        try await withEdgeServer { server, hits in
            try await withTransport { transport in
                let result = try await exchange(spec(.GET, server.baseURL + "/always503", retry: RetryPolicy(attempts: 3, initialDelay: .milliseconds(5))), transport: transport)
                guard case .failure(let error) = result.result else { Issue.record("503 accepted"); return }
                #expect(error.status == 503)
                #expect(error.message.hasSuffix("(after 3 attempts)"))
                #expect(result.attempts.count == 3)
                #expect(await hits.count("always503") == 3)
            }
        }
    }

    @Test func statusesOutsideTheRetryListAreNotRetried() async throws {
        try await withEdgeServer { server, _ in
            try await withTransport { transport in
                let result = try await exchange(spec(.GET, server.baseURL + "/status/500", retry: RetryPolicy(attempts: 3, initialDelay: .milliseconds(5))), transport: transport)
                #expect(result.attempts.count == 1)
            }
        }
    }

    @Test func connectionErrorsAreRetriedThenReported() async throws {
        try await withTransport { transport in
            // Port 9 (discard) is closed on loopback here.
            let result = try await exchange(spec(.GET, "http://127.0.0.1:9/x", retry: RetryPolicy(attempts: 2, initialDelay: .milliseconds(5))), transport: transport)
            guard case .failure(let error) = result.result else { Issue.record("connected to a closed port"); return }
            #expect(error.code == .connection)
            #expect(error.message.contains("cannot connect to 127.0.0.1:9: connection refused: nothing listens there"), "\(error.message)")
            #expect(!error.message.contains("errno"), "NIO's own wording: \(error.message)")
            #expect(result.attempts.count == 2)
        }
    }

    @Test func responsesOverTheCapFailClearly() async throws {
        try await withEdgeServer { server, _ in
            try await withTransport { transport in
                let declared = try await exchange(spec(.GET, server.baseURL + "/big/2000", maxBytes: 1000), transport: transport)
                guard case .failure(let error) = declared.result else { Issue.record("2000 bytes accepted under a 1000 byte cap"); return }
                #expect(error.code == .tooLarge)
                #expect(error.message.contains("more than the limit of 1000 bytes; raise 'max_response_bytes'"))
                let streamed = try await exchange(spec(.GET, server.baseURL + "/big-chunked/300000", maxBytes: 100_000), transport: transport)
                guard case .failure(let streamedError) = streamed.result else { Issue.record("chunked body over the cap accepted"); return }
                #expect(streamedError.code == .tooLarge)
                let fits = try await exchange(spec(.GET, server.baseURL + "/big-chunked/90000", maxBytes: 100_000), transport: transport)
                #expect(fits.response?.body.count == 90_000)
            }
        }
    }

    @Test func secretsAreRedactedFromRecordedURLs() async throws {
        try await withEdgeServer { server, _ in
            try await withTransport { transport in
                let values = TemplateValues(secrets: ["KEY": "canary-5ecret value"])
                let request = try RequestBuilder(projectDirectory: URL(fileURLWithPath: "/tmp"))
                    .build(spec(.GET, server.baseURL + "/status/401", query: [("api_key", "{{secret.KEY}}")]), values: values)
                let redactor = Redactor(secrets: ["canary-5ecret value"])
                let result = await transport.send(request, redactor: redactor)
                #expect(result.attempts[0].url == server.baseURL + "/status/401?api_key=***")
                guard case .failure(let error) = result.result else { Issue.record("401 accepted"); return }
                #expect(!error.message.contains("canary"))
                #expect(!error.message.contains("5ecret"))
            }
        }
    }

    @Test func retryAfterParsesSecondsAndDates() {
        let now = UTCDateTime(iso: "2015-10-21T07:27:00Z")!
        #expect(RetryAfter.delay("120", now: now) == .seconds(120))
        #expect(RetryAfter.delay("Wed, 21 Oct 2015 07:28:00 GMT", now: now) == .seconds(60))
        #expect(RetryAfter.delay("Wed, 21 Oct 2015 07:26:00 GMT", now: now) == .seconds(0))
        #expect(RetryAfter.delay("soon", now: now) == nil)
    }

    /// Issue 14, item 1: a server's number is never trusted. These trapped (Int64 overflow
    /// in a date, "Double value cannot be converted to Int64") and crash-looped push.
    @Test(arguments: [
        ("99999999999999999", RetryAfter.ceiling), ("999999999999999999999999999999", RetryAfter.ceiling),
        ("31622400", RetryAfter.ceiling), ("31622399", Duration.seconds(31_622_399)), ("0", Duration.zero),
    ])
    func absurdRetryAfterSecondsAreClamped(value: String, expected: Duration) {
        let now = UTCDateTime(iso: "2015-10-21T07:27:00Z")!
        #expect(RetryAfter.delay(value, now: now) == expected)
    }

    @Test(arguments: ["Sun, 06 Nov 1994 99999999999999999:00:00 GMT", "Sun, 99999999999999999 Nov 1994 08:49:37 GMT",
                      "Sun, 06 Nov 99999999999999999 08:49:37 GMT", "Sun, 31 Feb 1994 08:49:37 GMT", "Sun, 06 Nov 1994 24:00:00 GMT",
                      "-5", "1e9", "12.5", "+3", " ", "", "Sun, 06 Nov 1994 08:49 GMT"])
    func malformedRetryAfterIsIgnored(value: String) {
        let now = UTCDateTime(iso: "2015-10-21T07:27:00Z")!
        #expect(RetryAfter.delay(value, now: now) == nil)
    }

    @Test func aFarFutureRetryAfterDateIsClamped() {
        let now = UTCDateTime(iso: "2015-10-21T07:27:00Z")!
        #expect(RetryAfter.delay("Fri, 31 Dec 9999 23:59:59 GMT", now: now) == RetryAfter.ceiling)
    }
}
