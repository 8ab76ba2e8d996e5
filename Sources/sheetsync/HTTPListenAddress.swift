#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The address `serve --http` listens on: `host:port`, or `[v6-address]:port`.
///
/// The endpoints have no authentication, so anything but loopback has to be asked
/// for with `--allow-remote-http` (see `Serve.validate()`). On the command line it
/// comes as an `HTTPListenArgument` (Arguments.swift), which also takes `off`.
struct HTTPListenAddress: Equatable, Sendable {
    var host: String
    var port: Int

    init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `127.0.0.1:9410`, `localhost:0` or `[::1]:9410`; nil for anything else.
    init?(_ text: String) {
        let hostPart: Substring, portPart: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else { return nil }
            hostPart = text[text.index(after: text.startIndex)..<close]
            portPart = text[text.index(close, offsetBy: 2)...]
        } else {
            let parts = text.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count == 2 else { return nil }
            (hostPart, portPart) = (parts[0], parts[1])
        }
        guard !hostPart.isEmpty, let port = Int(portPart), (0...65_535).contains(port) else { return nil }
        self.host = String(hostPart)
        self.port = port
    }

    /// True for `localhost`, 127.0.0.0/8 and `::1`: only this machine can connect.
    /// Names are not resolved, so `127.0.0.1.example.com` is not loopback.
    var isLoopback: Bool {
        if host.lowercased() == "localhost" { return true }
        var v4 = in_addr()
        if inet_pton(AF_INET, host, &v4) == 1 {
            // s_addr is in network byte order: the first octet is the lowest byte in memory.
            return withUnsafeBytes(of: &v4) { $0[0] } == 127
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, host, &v6) == 1 {
            return withUnsafeBytes(of: &v6) { bytes in bytes.dropLast().allSatisfy { $0 == 0 } && bytes.last == 1 }
        }
        return false
    }

    /// The host as it goes in a URL: an IPv6 address in brackets.
    var urlHost: String { host.contains(":") ? "[\(host)]" : host }
}
