import Foundation
import NIOSSL
import Testing
import SheetSyncCore
import SheetSyncDemo
import SheetSyncTesting
@testable import SheetSyncHTTP

/// The origin rule for redirects (issue 12): only http and https, never https → http,
/// and no credential header on another origin (scheme, host or port). And secrets that
/// a server echoes in an error body are masked before the body is cut.
struct OriginRuleTests {
    static let token = "tok-CANARY-123456"
    static let apiKey = "key-CANARY-abcdef"

    /// A job's request with a secret in `Authorization` and in a custom header.
    func credentialed(_ url: String) -> (HTTPRequestSpec, TemplateValues) {
        let request = spec(.GET, url, headers: [("Authorization", "Bearer {{secret.TOKEN}}"), ("X-Api-Key", "{{secret.API_KEY}}"),
                                                ("Cookie", "session=abc"), ("X-Keep", "1")])
        return (request, TemplateValues(secrets: ["TOKEN": Self.token, "API_KEY": Self.apiKey]))
    }

    func send(_ spec: HTTPRequestSpec, _ values: TemplateValues = TemplateValues(), transport: HTTPTransport) async throws -> HTTPExchange {
        let request = try RequestBuilder(projectDirectory: URL(fileURLWithPath: "/tmp")).build(spec, values: values)
        return await transport.send(request, redactor: Redactor(secrets: values.secrets.values))
    }

    static func redirect(_ base: String, to target: String, status: Int = 302) -> String {
        base + "/redirect?status=\(status)&to=" + target.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
    }

    @Test func aRedirectToAnotherPortCarriesNoCredentials() async throws {
        try await withEdgeServer { server, _ in
            try await withEdgeServer { other, _ in
                try await withTransport { transport in
                    let (request, values) = credentialed(Self.redirect(server.baseURL, to: other.baseURL + "/echo"))
                    let echo = try Echo(try await send(request, values, transport: transport).result.get())
                    #expect(echo.header("Authorization") == nil)
                    #expect(echo.header("X-Api-Key") == nil, "a header filled from a secret followed the redirect to another port")
                    #expect(echo.header("Cookie") == nil)
                    #expect(echo.header("X-Keep") == "1")
                }
            }
        }
    }

    @Test func aRedirectToAnotherHostCarriesNoSecretHeader() async throws {
        try await withEdgeServer { server, _ in
            try await withTransport { transport in
                let (request, values) = credentialed(Self.redirect(server.baseURL, to: "http://localhost:\(server.port)/echo"))
                let echo = try Echo(try await send(request, values, transport: transport).result.get())
                #expect(echo.header("X-Api-Key") == nil)
                #expect(echo.header("Authorization") == nil)
                #expect(echo.header("X-Keep") == "1")
            }
        }
    }

    @Test func aRedirectOnTheSameOriginKeepsCredentials() async throws {
        try await withEdgeServer { server, _ in
            try await withTransport { transport in
                let (request, values) = credentialed(Self.redirect(server.baseURL, to: "/echo"))
                let echo = try Echo(try await send(request, values, transport: transport).result.get())
                #expect(echo.header("Authorization") == "Bearer \(Self.token)")
                #expect(echo.header("X-Api-Key") == Self.apiKey)
            }
        }
    }

    @Test(arguments: ["http+unix://%2Ftmp%2Fx.sock/containers/json", "file:///etc/passwd", "unix:///tmp/x.sock", "ftp://127.0.0.1/x"])
    func redirectsToOtherSchemesAreRefusedAndNotRetried(target: String) async throws {
        try await withEdgeServer { server, _ in
            try await withTransport { transport in
                var request = spec(.GET, Self.redirect(server.baseURL, to: target))
                request.retry = RetryPolicy(attempts: 3)
                let exchange = try await send(request, transport: transport)
                guard case .failure(let error) = exchange.result else { Issue.record("followed a redirect to \(target)"); return }
                #expect(error.code == .refusedURL)
                #expect(error.message.contains("'\(Origin.scheme(of: target)!)'"), "\(error.message)")
                #expect(error.message.contains("only http and https"))
                #expect(exchange.attempts.count == 1, "a refused redirect was retried")
            }
        }
    }

    @Test(arguments: ["http+unix://%2Ftmp%2Fx.sock/x", "file:///etc/passwd"])
    func aRequestURLWithAnotherSchemeIsRefused(url: String) throws {
        #expect(throws: HTTPStepError.self) {
            _ = try RequestBuilder(projectDirectory: URL(fileURLWithPath: "/tmp")).build(spec(.GET, url), values: TemplateValues())
        }
    }

    @Test func anHTTPSRedirectToPlainHTTPIsRefused() async throws {
        let tls = try await SelfSignedCertificate.make()
        defer { tls.remove() }
        try await withLoopbackServer(EdgeCaseServer.router(), server: try .tls(.http1(), tlsConfiguration: tls.serverConfiguration), scheme: "https") { secure in
            try await withEdgeServer { plain, _ in
                try await withTransport { transport in
                    let (base, values) = credentialed(Self.redirect(secure.baseURL, to: plain.baseURL + "/echo"))
                    var request = base
                    request.caFile = tls.certificate
                    let exchange = try await send(request, values, transport: transport)
                    guard case .failure(let error) = exchange.result else { Issue.record("followed https → http"); return }
                    #expect(error.code == .refusedURL)
                    #expect(error.message.contains("from https to"))
                }
            }
        }
    }

    /// The reproduction: a 401 body of filler, then the token, cut at every offset around
    /// the 200-character excerpt; and the token echoed JSON-escaped or percent-encoded.
    @Test(arguments: [100, 119, 160, 170, 180, 190, 195, 199, 200, 201, 230])
    func aSecretEchoedInAnErrorBodyIsMaskedWhereverTheExcerptEnds(filler: Int) async throws {
        let token = "SECRETPART1-SECRETPART2-SECRETPART3"
        try await withEdgeServer { server, _ in
            try await withTransport { transport in
                let body = String(repeating: ".", count: filler) + "bad credentials: Bearer " + token + " rest"
                let url = server.baseURL + "/answer?status=401&body=" + body.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
                let request = spec(.GET, url, headers: [("Authorization", "Bearer {{secret.TOKEN}}")])
                let exchange = try await send(request, TemplateValues(secrets: ["TOKEN": token]), transport: transport)
                guard case .failure(let error) = exchange.result else { Issue.record("401 accepted"); return }
                #expect(error.status == 401)
                for text in [error.message] + exchange.attempts.compactMap(\.error) {
                    #expect(!text.contains("SECRETPART"), "a piece of the token is in '\(text)'")
                }
            }
        }
    }

    @Test func aSecretEchoedJSONEscapedOrEncodedIsMasked() async throws {
        let token = "a/b\"c d+e/SECRET"
        var quoted = ""
        JSONValue.writeQuoted(token, to: &quoted)
        let echoes = [
            #"{"error":"bad token \#(quoted.dropFirst().dropLast())"}"#,
            #"{"error":"bad token a\/b\"c d+e\/SECRET"}"#,
            #"{"error":"bad token a\u002Fb\u0022c\u0020d\u002be\u002fSECRET"}"#,
            "token=" + token.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!,
            "token=" + token.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!.lowercased().replacingOccurrences(of: "secret", with: "SECRET"),
            "token=" + PercentEncoding.formEncode(token),
            "Basic " + Data("user:\(token)".utf8).base64EncodedString(),
            "Basic " + Data("me:\(token)".utf8).base64EncodedString(),
        ]
        try await withEdgeServer { server, _ in
            try await withTransport { transport in
                for echo in echoes {
                    let url = server.baseURL + "/answer?status=401&body=" + echo.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
                    let exchange = try await send(spec(.GET, url), TemplateValues(secrets: ["TOKEN": token]), transport: transport)
                    guard case .failure(let error) = exchange.result else { Issue.record("401 accepted"); continue }
                    // The test's own URL carries the echo; what the server said follows it.
                    let said = String(error.message.split(separator: "(expected 2xx): ", maxSplits: 1).last ?? "")
                    #expect(said.contains(Redactor.mask), "nothing masked in '\(said)' for \(echo)")
                    #expect(!said.contains("SECRET"), "'\(said)' shows the token echoed as \(echo)")
                }
            }
        }
    }
}

/// A self-signed certificate for 127.0.0.1 made with openssl, for TLS servers in tests.
struct SelfSignedCertificate {
    let directory: URL
    var certificate: String { directory.appendingPathComponent("cert.pem").path }
    var key: String { directory.appendingPathComponent("key.pem").path }

    /// Runs openssl off Swift concurrency's few threads: waiting for it there would stall
    /// the timers of the tests running beside this one.
    static func make() async throws -> SelfSignedCertificate {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(with: Result { try makeBlocking() }) }
        }
    }

    private static func makeBlocking() throws -> SelfSignedCertificate {
        let made = SelfSignedCertificate(directory: try temporaryDirectory())
        let openssl = Process()
        openssl.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        openssl.arguments = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", made.key, "-out", made.certificate,
                             "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                             "-addext", "basicConstraints=critical,CA:TRUE"]
        openssl.standardOutput = FileHandle.nullDevice
        openssl.standardError = FileHandle.nullDevice
        try openssl.run()
        openssl.waitUntilExit()
        guard openssl.terminationStatus == 0 else { throw CoreError(.invalidTemplate, "openssl could not make a certificate") }
        return made
    }

    var serverConfiguration: TLSConfiguration {
        get throws {
            TLSConfiguration.makeServerConfiguration(
                certificateChain: try NIOSSLCertificate.fromPEMFile(certificate).map { .certificate($0) },
                privateKey: .privateKey(try NIOSSLPrivateKey(file: key, format: .pem)))
        }
    }

    func remove() { try? FileManager.default.removeItem(at: directory) }
}
