import Foundation
import SheetSyncStore

/// A PostgreSQL database named by a URL in `database:` (sheetsync.yml), `--db` or
/// `SHEETSYNC_DB`:
///
///     postgres://USER@HOST:PORT/DATABASE?sslmode=require
///     postgres://app:{{secret.PG_PASSWORD}}@db.internal/shop
///     postgresql://app@/shop?host=/var/run/postgresql        (a Unix socket directory)
///
/// Parts left out come from libpq's environment variables (`PGHOST`, `PGPORT`, `PGUSER`,
/// `PGDATABASE`, `PGSSLMODE`, `PGSSLROOTCERT`), then the defaults (`localhost`, 5432, the
/// login name, a database named as the user, `sslmode=prefer`).
///
/// The password is never written in the URL: a literal one is refused (the URL sits in
/// sheetsync.yml, in git, in shell history and in process lists). It comes from
/// `{{secret.NAME}}` in the password's place (the project's secrets), else `PGPASSWORD`,
/// else the password file (`PGPASSFILE`, default `~/.pgpass`, used only when no one but
/// its owner can read it — as libpq does).
public struct PostgresLocation: Sendable, Equatable {
    public enum SSLMode: String, Sendable, CaseIterable {
        /// No TLS.
        case disable
        /// TLS when the server offers it, without checking its certificate (libpq's default).
        case prefer
        /// TLS or no connection, without checking the certificate.
        case require
        /// TLS with a certificate signed by a trusted CA, any host name.
        case verifyCA = "verify-ca"
        /// TLS with a trusted certificate for this host name.
        case verifyFull = "verify-full"
    }

    public var host: String
    public var port: Int
    /// A directory holding the server's socket (`?host=/path`); then `host` is not used.
    public var socketDirectory: String?
    public var database: String
    public var user: String
    /// `NAME` of `{{secret.NAME}}` in the password's place.
    public var passwordSecret: String?
    public var sslMode: SSLMode
    /// A CA bundle for `verify-ca` / `verify-full` (`sslrootcert`).
    public var rootCertificate: String?

    /// Whether `text` names a PostgreSQL database rather than an SQLite file.
    public static func isURL(_ text: String) -> Bool {
        let lower = text.lowercased()
        return lower.hasPrefix("postgres://") || lower.hasPrefix("postgresql://")
    }

    /// The URL as it may be shown: no password, a secret's place named.
    public var display: String {
        let credentials = user + (passwordSecret.map { ":{{secret.\($0)}}" } ?? "")
        let server = socketDirectory == nil ? (host.contains(":") ? "[\(host)]" : host) + ":\(port)" : ""
        var query = ["sslmode=\(sslMode.rawValue)"]
        if let socketDirectory { query.insert("host=\(socketDirectory)", at: 0) }
        return "postgres://\(credentials)@\(server)/\(database)?\(query.joined(separator: "&"))"
    }

    /// Reads a URL; the error says what is wrong with it and how to write it.
    public static func parse(_ text: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws(StoreError) -> PostgresLocation {
        func bad(_ why: String) -> StoreError {
            StoreError(.cannotOpen, "the database URL is not usable: \(why). Write it as postgres://USER@HOST:PORT/DATABASE?sslmode=require (the password from {{secret.NAME}} in its place, PGPASSWORD or ~/.pgpass)")
        }
        guard let schemeEnd = text.range(of: "://"), isURL(text) else { throw bad("it does not start with postgres://") }
        var rest = Substring(text[schemeEnd.upperBound...])
        var parameters: [String: String] = [:]
        if let question = rest.firstIndex(of: "?") {
            for pair in rest[rest.index(after: question)...].split(separator: "&") where !pair.isEmpty {
                let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                guard parts.count == 2, let name = parts[0].removingPercentEncoding, let value = parts[1].removingPercentEncoding else {
                    throw bad("the parameter '\(pair)' is not NAME=VALUE")
                }
                parameters[name] = value
            }
            rest = rest[..<question]
        }
        var authority = rest
        var path: Substring = ""
        if let slash = rest.firstIndex(of: "/") {
            authority = rest[..<slash]
            path = rest[rest.index(after: slash)...]
        }
        var userPart: Substring?
        var hostPart = authority
        if let at = authority.lastIndex(of: "@") {
            userPart = authority[..<at]
            hostPart = authority[authority.index(after: at)...]
        }
        var location = PostgresLocation(host: "localhost", port: 5432, socketDirectory: nil, database: "", user: "", passwordSecret: nil,
                                        sslMode: .prefer, rootCertificate: nil)
        if let userPart {
            let pieces = userPart.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            guard let user = pieces[0].removingPercentEncoding else { throw bad("the user name is not percent-encoded correctly") }
            location.user = user
            if pieces.count == 2 {
                let password = String(pieces[1])
                let secret = password.wholeMatch(of: /\{\{\s*secret\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/)
                guard let secret else {
                    throw StoreError(.cannotOpen, "the database URL holds a password, which would be kept wherever the URL is (sheetsync.yml, git, shell history, process lists); write {{secret.NAME}} in its place and set the secret (or use PGPASSWORD or ~/.pgpass)")
                }
                location.passwordSecret = String(secret.1)
            }
        }
        // Host and port: `host`, `host:port`, `[v6]`, `[v6]:port`, or empty.
        var hostText = String(hostPart)
        var portText: String?
        if hostText.hasPrefix("[") {
            guard let close = hostText.firstIndex(of: "]") else { throw bad("the IPv6 address has no closing ']'") }
            let after = hostText[hostText.index(after: close)...]
            if after.hasPrefix(":") { portText = String(after.dropFirst()) } else if !after.isEmpty { throw bad("'\(after)' follows the IPv6 address") }
            hostText = String(hostText[hostText.index(after: hostText.startIndex)..<close])
        } else if let colon = hostText.lastIndex(of: ":") {
            portText = String(hostText[hostText.index(after: colon)...])
            hostText = String(hostText[..<colon])
        }
        if let socket = parameters["host"], socket.hasPrefix("/") {
            location.socketDirectory = socket
        } else if let host = parameters["host"], !host.isEmpty {
            location.host = host
        }
        if !hostText.isEmpty {
            location.host = hostText.removingPercentEncoding ?? hostText
        } else if parameters["host"] == nil, let fromEnvironment = environment["PGHOST"], !fromEnvironment.isEmpty {
            if fromEnvironment.hasPrefix("/") { location.socketDirectory = fromEnvironment } else { location.host = fromEnvironment }
        }
        let port = portText.flatMap { $0.isEmpty ? nil : $0 } ?? parameters["port"] ?? environment["PGPORT"]
        if let port {
            guard let number = Int(port), (1...65_535).contains(number) else { throw bad("the port '\(port)' is not a number from 1 to 65535") }
            location.port = number
        }
        if location.user.isEmpty { location.user = parameters["user"] ?? environment["PGUSER"] ?? environment["USER"] ?? NSUserName() }
        guard let database = String(path).removingPercentEncoding else { throw bad("the database name is not percent-encoded correctly") }
        location.database = database.isEmpty ? parameters["dbname"] ?? environment["PGDATABASE"] ?? location.user : database
        if let mode = parameters["sslmode"] ?? environment["PGSSLMODE"] {
            guard let known = SSLMode(rawValue: mode) else {
                throw bad("sslmode '\(mode)' is not one of \(SSLMode.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            location.sslMode = known
        }
        location.rootCertificate = parameters["sslrootcert"] ?? environment["PGSSLROOTCERT"]
        let known: Set<String> = ["host", "port", "user", "dbname", "sslmode", "sslrootcert"]
        if let unknown = parameters.keys.sorted().first(where: { !known.contains($0) }) {
            if unknown == "password" {
                throw StoreError(.cannotOpen, "the database URL holds a password (?password=…); write {{secret.NAME}} in the password's place instead, or use PGPASSWORD or ~/.pgpass")
            }
            throw bad("the parameter '\(unknown)' is not one sheetsync reads (\(known.sorted().joined(separator: ", ")))")
        }
        return location
    }

    /// The password: the secret named in the URL, else `PGPASSWORD`, else a matching line
    /// of the password file; nil when there is none (the server may not ask for one).
    public func password(secret: (String) -> String?, environment: [String: String] = ProcessInfo.processInfo.environment) throws(StoreError) -> String? {
        if let passwordSecret {
            guard let value = secret(passwordSecret) else {
                throw StoreError(.cannotOpen, "the database URL needs secret '\(passwordSecret)', which is not set; export \(passwordSecret)=… or add it to the project's secrets file")
            }
            return value
        }
        if let value = environment["PGPASSWORD"] { return value }
        let home = environment["HOME"] ?? NSHomeDirectory()
        let file = environment["PGPASSFILE"] ?? home + "/.pgpass"
        return Self.passwordFile(at: file).flatMap { lookUp(in: $0) }
    }

    /// The password file's text, when only its owner may read it (libpq ignores it otherwise).
    static func passwordFile(at path: String) -> String? {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
              let permissions = (attributes[.posixPermissions] as? NSNumber)?.intValue, permissions & 0o077 == 0,
              let data = FileManager.default.contents(atPath: path) else { return nil }
        return String(decoding: data, as: UTF8.self)
    }

    /// The password of the first line of a `.pgpass` text that matches
    /// (`host:port:database:user:password`, `*` for any, `\:` and `\\` escaped).
    func lookUp(in text: String) -> String? {
        let hostName = socketDirectory == nil ? host : "localhost"
        let wanted = [hostName, String(port), database, user]
        for line in text.split(whereSeparator: \.isNewline) where !line.hasPrefix("#") {
            var fields: [String] = []
            var current = ""
            var escaped = false
            for character in line {
                if escaped { current.append(character); escaped = false; continue }
                if character == "\\" { escaped = true; continue }
                if character == ":", fields.count < 4 { fields.append(current); current = ""; continue }
                current.append(character)
            }
            fields.append(current)
            guard fields.count == 5 else { continue }
            if zip(fields.prefix(4), wanted).allSatisfy({ $0 == "*" || $0 == $1 }) { return fields[4] }
        }
        return nil
    }
}
