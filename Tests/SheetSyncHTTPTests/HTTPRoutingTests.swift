import Foundation
import HummingbirdTLS
import NIOSSL
import Testing
import SheetSyncCore
import SheetSyncDemo
import SheetSyncTesting
@testable import SheetSyncHTTP

/// Redirects, the proxy, and TLS verification.
struct HTTPRoutingTests {
    let noRedaction = Redactor(secrets: [])

    func send(_ spec: HTTPRequestSpec, transport: HTTPTransport) async throws -> HTTPExchange {
        let request = try RequestBuilder(projectDirectory: URL(fileURLWithPath: "/tmp")).build(spec, values: TemplateValues())
        return await transport.send(request, redactor: noRedaction)
    }

    @Test func followsGETRedirectsKeepingAuthorizationOnTheSameHost() async throws {
        try await withEdgeServer { server, _ in
            try await withTransport { transport in
                let target = (server.baseURL + "/echo").addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
                let same = try await send(spec(.GET, server.baseURL + "/redirect?to=\(target)&status=301", headers: [("Authorization", "Bearer {{param.x}}")]).with(params: ["x": "tok"]), transport: transport)
                let echo = try Echo(try same.result.get())
                #expect(echo.path == "/echo")
                #expect(echo.header("Authorization") == "Bearer tok")
            }
        }
    }

    @Test func dropsAuthorizationWhenARedirectChangesHost() async throws {
        try await withEdgeServer { server, _ in
            try await withTransport { transport in
                let otherHost = "http://localhost:\(server.port)/echo".addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
                let moved = try await send(spec(.GET, server.baseURL + "/redirect?to=\(otherHost)", headers: [("Authorization", "Bearer {{param.x}}"), ("X-Keep", "1")]).with(params: ["x": "tok"]), transport: transport)
                let echo = try Echo(try moved.result.get())
                #expect(echo.header("Authorization") == nil)
                #expect(echo.header("X-Keep") == "1")
            }
        }
    }

    @Test func doesNotFollowRedirectsForPOST() async throws {
        try await withEdgeServer { server, _ in
            try await withTransport { transport in
                let result = try await send(spec(.POST, server.baseURL + "/redirect?to=%2Fecho&status=307"), transport: transport)
                guard case .failure(let error) = result.result else { Issue.record("POST redirect followed or accepted"); return }
                #expect(error.status == 307)
                #expect(error.message.contains("redirects are followed for GET and HEAD only"))
            }
        }
    }

    @Test func stopsRedirectLoops() async throws {
        try await withEdgeServer { server, _ in
            try await withTransport { transport in
                let result = try await send(spec(.GET, server.baseURL + "/loop"), transport: transport)
                guard case .failure(let error) = result.result else { Issue.record("redirect loop accepted"); return }
                #expect(error.code == .redirect)
                #expect(error.message.contains("more than 10 redirects"))
            }
        }
    }

    @Test func usesTheProxyWithCredentialsWhenAsked() async throws {
        let log = ProxyLog()
        try await withConnectProxy(log: log) { proxy in
            try await withEdgeServer { server, _ in
                try await withTransport(proxy: .init(host: "127.0.0.1", port: proxy.port, username: "user", password: "p@ss")) { transport in
                    var viaProxy = spec(.GET, server.baseURL + "/echo?via=proxy")
                    viaProxy.proxy = true
                    let response = try await send(viaProxy, transport: transport).result.get()
                    #expect(try Echo(response).query == "via=proxy")
                    let direct = try await send(spec(.GET, server.baseURL + "/echo?via=direct"), transport: transport).result.get()
                    #expect(try Echo(direct).query == "via=direct")
                    let logged = await log.requests
                    #expect(logged.count == 1)
                    #expect(logged.first?.target == "127.0.0.1:\(server.port)")
                    #expect(logged.first?.authorization == "Basic " + Data("user:p@ss".utf8).base64EncodedString())
                }
            }
        }
    }

    @Test func proxyTrueWithoutAProxyIsAClearError() async throws {
        try await withTransport { transport in
            var request = spec(.GET, "http://127.0.0.1:9/x")
            request.proxy = true
            let result = try await send(request, transport: transport)
            guard case .failure(let error) = result.result else { Issue.record("sent without a proxy"); return }
            #expect(error.message.contains("sheetsync.yml has no 'proxy:' section"))
        }
    }

    @Test func tlsSelfSignedIsRefusedByDefaultAndAcceptedWhenTold() async throws {
        let made = try await SelfSignedCertificate.make()
        defer { made.remove() }
        let certificate = made.certificate
        try await withLoopbackServer(EdgeCaseServer.router(), server: try .tls(.http1(), tlsConfiguration: made.serverConfiguration), scheme: "https") { server in
            try await withTransport { transport in
                let refused = try await send(spec(.GET, server.baseURL + "/echo"), transport: transport)
                guard case .failure(let error) = refused.result else { Issue.record("self-signed certificate accepted by default"); return }
                #expect(error.code == .tls)
                #expect(error.message.contains("set 'ca_file'"))

                var insecure = spec(.GET, server.baseURL + "/echo")
                insecure.verifyTLS = false
                #expect(try await send(insecure, transport: transport).response?.status == 200)

                var trusted = spec(.GET, server.baseURL + "/echo")
                trusted.caFile = certificate
                #expect(try await send(trusted, transport: transport).response?.status == 200)
            }
        }
    }
}

extension HTTPRequestSpec {
    /// Test helper: bakes param values into literal templates.
    func with(params: [String: String]) -> HTTPRequestSpec {
        var copy = self
        let values = TemplateValues(params: params)
        copy.headers = headers.map { NamedTemplate(name: $0.name, value: Template(literal: try! $0.value.renderText(values))) }
        return copy
    }
}

/// Issue 15, item 10: a proxy that refuses the credentials (407) is a clear error, sent
/// once: before, it was retried as a connection error ("cannot connect to …").
struct ProxyAuthenticationTests {
    @Test func a407FromTheProxyNamesTheCredentialsAndIsNotRetried() async throws {
        let log = ProxyLog()
        let expected = "Basic " + Data("user:right".utf8).base64EncodedString()
        try await withConnectProxy(log: log, requiring: expected) { proxy in
            try await withEdgeServer { server, _ in
                try await withTransport(proxy: .init(host: "127.0.0.1", port: proxy.port, username: "user", password: "wr0ng-pa55")) { transport in
                    var viaProxy = spec(.GET, server.baseURL + "/echo", retry: RetryPolicy(attempts: 3, initialDelay: .milliseconds(5)))
                    viaProxy.proxy = true
                    let request = try RequestBuilder(projectDirectory: URL(fileURLWithPath: "/tmp")).build(viaProxy, values: TemplateValues())
                    let result = await transport.send(request, redactor: Redactor(secrets: ["wr0ng-pa55"]))
                    guard case .failure(let error) = result.result else { Issue.record("the proxy let the request through"); return }
                    #expect(error.code != .connection)
                    #expect(error.message.contains("407"), "\(error.message)")
                    #expect(error.message.contains("proxy.username"), "\(error.message)")
                    #expect(error.message.contains("proxy.password"), "\(error.message)")
                    #expect(!error.message.contains("wr0ng"))
                    #expect(result.attempts.count == 1)
                    #expect(await log.requests.count == 1)
                }
            }
        }
    }
}
