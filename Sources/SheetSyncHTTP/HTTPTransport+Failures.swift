import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import SheetSyncCore

/// How a failed attempt is told: a thrown error classified (timeout, connection, TLS, …)
/// with what to check, a status the request does not accept, or an error a 2xx body
/// reports (`request.error.when`), with the server's own code and message.
extension HTTPTransport {
    func classify(_ error: any Error, request: PreparedRequest) -> HTTPStepError {
        let text = String(describing: error)
        if error is NIOTooManyBytesError {
            return HTTPStepError(.tooLarge, "the response is larger than the limit of \(request.maxResponseBytes) bytes; raise 'max_response_bytes' or fetch smaller pages")
        }
        if let error = error as? HTTPClientError {
            switch error {
            case .deadlineExceeded, .readTimeout:
                return HTTPStepError(.timeout, "no complete response within \(DurationText.format(request.timeout)) (the request timeout); raise 'request.timeout' if the server is slow")
            case .connectTimeout:
                var failure = HTTPStepError(.timeout, "could not connect within the connect timeout; check that the server is up and reachable")
                failure.isBeforeSending = true
                return failure
            case .remoteConnectionClosed:
                return HTTPStepError(.connection, "the server closed the connection before answering")
            case .proxyAuthenticationRequired:
                return HTTPStepError(.proxyAuthentication, "the proxy answered 407 Proxy Authentication Required: it refused the credentials of sheetsync.yml; check 'proxy.username' and 'proxy.password' (the secret it names) in sheetsync.yml", status: 407)
            case .invalidProxyResponse, .httpProxyHandshakeTimeout:
                var failure = HTTPStepError(.connection, "the proxy did not open a tunnel to \(Self.hostAndPort(request.url)) (\(error)); check the proxy and that it may reach that host", underlying: error)
                failure.isBeforeSending = true
                return failure
            default:
                break
            }
        }
        if let parser = error as? HTTPParserError {
            if case .invalidEOFState = parser {
                return HTTPStepError(.connection, "the server closed the connection in the middle of the response (the body was cut short)")
            }
            return HTTPStepError(.connection, "the server's answer is not valid HTTP (\(text))")
        }
        if error is NIOSSLError || error is BoringSSLError || error is NIOSSLExtraError {
            return HTTPStepError(.tls, "TLS failed: \(text). If the server uses a private CA, set 'ca_file'; only for testing, 'verify_tls: false'",
                                 underlying: error)
        }
        var failure = HTTPStepError(.connection, "cannot connect to \(Self.hostAndPort(request.url)): \(Self.reason(error))", underlying: error)
        failure.isBeforeSending = Self.isConnectFailure(error)
        return failure
    }

    /// Whether `error` came from opening the connection (refused, unreachable, no such
    /// host, a connect timeout), before any byte of the request was written. An error
    /// on a connection that was open — reset, closed, cut short — may come after the
    /// server received the request, so it is not one.
    static func isConnectFailure(_ error: any Error) -> Bool {
        switch error {
        case is NIOConnectionError: return true
        case ChannelError.connectTimeout: return true
        case let error as IOError: return [ECONNREFUSED, ENETUNREACH, EHOSTUNREACH].contains(error.errnoCode)
        default: return false
        }
    }

    /// Why a connection could not be made or was lost, in words: the operating system's
    /// error, not NIO's description of it ("connection reset (error set): Connection
    /// refused) (errno: 111)"), with what to check.
    static func reason(_ error: any Error) -> String {
        switch error {
        case let error as IOError:
            switch error.errnoCode {
            case ECONNREFUSED: return "connection refused: nothing listens there; check the URL's host and port and that the server is up"
            case ENETUNREACH: return "network unreachable; check the host and this machine's network"
            case EHOSTUNREACH: return "host unreachable; check the host and this machine's network"
            case ECONNRESET: return "the server reset the connection"
            case ETIMEDOUT: return "the connection timed out"
            default: return "\(String(cString: strerror(error.errnoCode))) (errno \(error.errnoCode))"
            }
        case let error as NIOConnectionError:
            if let first = error.connectionErrors.first { return reason(first.error) }
            if let dns = error.dnsAError ?? error.dnsAAAAError {
                return "the host name '\(error.host)' does not resolve (\(dns)); check the URL's host"
            }
            return "\(error)"
        default:
            return "\(error)"
        }
    }

    static func hostAndPort(_ url: String) -> String {
        URL(string: url).map { "\($0.host ?? "?"):\($0.port.map(String.init) ?? ($0.scheme == "https" ? "443" : "80"))" } ?? url
    }

    /// The failure a 2xx response is by `request.error.when`, or nil. Only a body held in
    /// memory is read: one spilled to disk (over 16 MiB) is data, never an error report.
    func errorInBody(_ response: HTTPResponseData, request: PreparedRequest, redactor: Redactor) -> HTTPStepError? {
        guard let rule = request.error?.when, response.spilled == nil,
              let document = try? JSONReader.parse(response.body), rule.holds(in: document) else { return nil }
        let (remoteCode, remoteMessage) = Self.remoteError(in: document, request.error)
        var message = "HTTP \(response.status) from \(request.method.rawValue) \(response.url) reports an error (request.error.when: \(rule.text))"
        if remoteCode != nil || remoteMessage != nil {
            message += ": " + [remoteCode.map { "[\($0)]" }, remoteMessage].compactMap { $0 }.joined(separator: " ")
        } else {
            message += ": " + redactor.excerpt(bytes: response.body, limit: 200).replacingOccurrences(of: "\n", with: " ")
        }
        var error = HTTPStepError(.errorResponse, redactor.redact(message), status: response.status,
                                  remoteCode: remoteCode.map(redactor.redact), remoteMessage: remoteMessage.map(redactor.redact))
        error.response = response
        return error
    }

    /// The server's own error code and message, where `request.error` says they are.
    static func remoteError(in document: JSONValue, _ extraction: ErrorExtraction?) -> (code: String?, message: String?) {
        guard let extraction else { return (nil, nil) }
        return (extraction.code.flatMap { $0.value(in: document) }.flatMap(Self.text),
                extraction.message.flatMap { $0.value(in: document) }.flatMap(Self.text))
    }

    func statusError(_ response: HTTPResponseData, request: PreparedRequest, redactor: Redactor) -> HTTPStepError {
        var remoteCode: String?
        var remoteMessage: String?
        if request.error != nil, let document = try? JSONReader.parse(response.body) {
            (remoteCode, remoteMessage) = Self.remoteError(in: document, request.error)
        }
        let expected = request.successCodes.map { "expected " + $0.map(String.init).joined(separator: ", ") } ?? "expected 2xx"
        var message = "HTTP \(response.status) from \(redactor.redact(request.method.rawValue + " " + response.url)) (\(expected))"
        if remoteCode != nil || remoteMessage != nil {
            message += ": " + [remoteCode.map { "[\($0)]" }, remoteMessage].compactMap { $0 }.joined(separator: " ")
        } else if !response.body.isEmpty {
            // Masked before it is cut, so a secret echoed across the cut is never half shown.
            message += ": " + redactor.excerpt(bytes: response.body, limit: 200).replacingOccurrences(of: "\n", with: " ")
        }
        if [301, 302, 303, 307, 308].contains(response.status), request.method != .GET, request.method != .HEAD {
            message += "; redirects are followed for GET and HEAD only"
        }
        var error = HTTPStepError(.status, redactor.redact(message), status: response.status,
                                  remoteCode: remoteCode.map(redactor.redact), remoteMessage: remoteMessage.map(redactor.redact))
        error.retryAfter = response.header("Retry-After").flatMap { RetryAfter.delay($0, now: Self.now()) }
        error.response = response
        return error
    }

    static func text(_ value: JSONValue) -> String? {
        switch value {
        case .string(let s): s
        case .number(let n): n
        case .bool(let b): b ? "true" : "false"
        case .null: nil
        default: value.jsonText
        }
    }
}
