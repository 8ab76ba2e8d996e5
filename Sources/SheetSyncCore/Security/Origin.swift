import Foundation

/// Where a URL sends a request: scheme, host and port (RFC 6454), the unit that
/// credentials are bound to.
///
/// sheetsync requests only `http` and `https`; every other scheme (`http+unix`,
/// `file`, `ftp`, …) has no origin here, and a URL without one is never requested.
/// A job's credentials — every header whose template uses `{{secret.…}}`, plus
/// `Authorization`, `Cookie` and `Proxy-Authorization` — go only to the origin of the
/// job's own URL: they are dropped when a redirect or a next-page URL leaves it.
public struct Origin: Sendable, Hashable, CustomStringConvertible {
    public var scheme: String
    public var host: String
    public var port: Int

    /// The schemes sheetsync sends requests to.
    public static let schemes: Set<String> = ["http", "https"]

    /// Headers that carry credentials whatever their template says.
    public static let credentialHeaders: Set<String> = ["authorization", "cookie", "proxy-authorization"]

    public init(scheme: String, host: String, port: Int) {
        self.scheme = scheme
        self.host = host
        self.port = port
    }

    /// The origin of an absolute `http`/`https` URL with a host; nil for anything else.
    public init?(url text: String) {
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), Self.schemes.contains(scheme),
              let host = url.host, !host.isEmpty else { return nil }
        self.scheme = scheme
        self.host = host.lowercased()
        self.port = url.port ?? (scheme == "https" ? 443 : 80)
    }

    /// The scheme of a URL as written (lowercased), for messages about refused URLs.
    public static func scheme(of text: String) -> String? {
        guard let colon = text.firstIndex(of: ":") else { return nil }
        let scheme = text[..<colon]
        guard !scheme.isEmpty, scheme.allSatisfy({ $0.isLetter || $0.isNumber || "+-.".contains($0) }) else { return nil }
        return scheme.lowercased()
    }

    /// `https://api.example.com` or `http://127.0.0.1:8080`: the port only when it is
    /// not the scheme's default.
    public var description: String {
        let defaultPort = scheme == "https" ? 443 : 80
        let shownHost = host.contains(":") ? "[\(host)]" : host
        return port == defaultPort ? "\(scheme)://\(shownHost)" : "\(scheme)://\(shownHost):\(port)"
    }

    /// Whether a request to `next` after one to `self` would downgrade https to http.
    public func isDowngrade(to next: Origin) -> Bool {
        scheme == "https" && next.scheme == "http"
    }

    /// Why `url` may not be requested, or nil when it may (an http or https URL with a host).
    public static func refusal(for url: String) -> String? {
        if Origin(url: url) != nil { return nil }
        if let scheme = scheme(of: url), !schemes.contains(scheme) {
            return "its scheme is '\(scheme)'; sheetsync requests only http and https URLs"
        }
        return "it is not an absolute http or https URL with a host"
    }
}
