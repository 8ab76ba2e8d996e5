import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL
import PostgresNIO
import SheetSyncCore
import SheetSyncStore

/// One connection to the server, used by one caller at a time.
///
/// The store's methods are synchronous (as SQLite's are), so each statement waits for its
/// answer on the caller's thread: `EventLoopFuture.wait()` is safe there, because the
/// answer arrives on NIO's own threads, never on the caller's. A transaction holds the
/// connection from `BEGIN` to `COMMIT`; other callers wait for it. The store's statements
/// go through a few of these (`PostgresPool`).
final class PostgresSession: @unchecked Sendable {
    /// Replaced when it was closed under the session (the server restarted, the network
    /// dropped, an administrator ended it): the next statement connects again.
    private var connection: PostgresConnection
    private let configuration: PostgresConnection.Configuration
    private let display: String
    private let lock = NIOLock()
    private let logger: Logger

    /// The driver logs nothing: at debug level it would print statements and their values
    /// (record data) into sheetsync's log; the store's errors say what went wrong instead.
    init(_ location: PostgresLocation, password: String?,
         logger: Logger = Logger(label: "sheetsync.postgres", factory: { _ in SwiftLogNoOpLogHandler() })) throws(StoreError) {
        self.logger = logger
        var configuration: PostgresConnection.Configuration
        if let directory = location.socketDirectory {
            configuration = .init(unixSocketPath: directory + "/.s.PGSQL.\(location.port)", username: location.user,
                                  password: password, database: location.database)
        } else {
            let tls: PostgresConnection.Configuration.TLS
            do {
                tls = try Self.tls(location)
            } catch {
                throw StoreError(.cannotOpen, "cannot set up TLS for \(location.display): \(error)")
            }
            configuration = .init(host: location.host, port: location.port, username: location.user, password: password,
                                  database: location.database, tls: tls)
        }
        configuration.options.connectTimeout = .seconds(10)
        // Seen in pg_stat_activity; and a lock held by another session (a user's open
        // transaction on a worksheet row) is waited for 10 s, then the page fails whole
        // and the run says why — as SQLite's busy timeout does.
        configuration.options.additionalStartupParameters = [("application_name", "sheetsync"), ("lock_timeout", "10s")]
        self.configuration = configuration
        display = location.display
        connection = try Self.connect(configuration, display: display, logger: logger)
    }

    private static func connect(_ configuration: PostgresConnection.Configuration, display: String,
                                logger: Logger) throws(StoreError) -> PostgresConnection {
        do {
            return try PostgresConnection.connect(on: MultiThreadedEventLoopGroup.singleton.next(), configuration: configuration,
                                                  id: 1, logger: logger).wait()
        } catch {
            throw StoreError(.cannotConnect, "cannot connect to PostgreSQL at \(display): \(Self.describe(error)). Check that the server runs and takes connections there, and the user, password (secret, PGPASSWORD or ~/.pgpass) and sslmode", underlying: error)
        }
    }

    /// The connection, connected again first if it was closed under the session. Called
    /// holding `lock`. A statement that failed because the connection went is not retried
    /// (its transaction is gone): its error goes to the caller; the next one reconnects.
    private func live() throws(StoreError) -> PostgresConnection {
        if connection.isClosed, !closed {
            connection = try Self.connect(configuration, display: display, logger: logger)
        }
        return connection
    }

    static func tls(_ location: PostgresLocation) throws -> PostgresConnection.Configuration.TLS {
        var configuration = TLSConfiguration.makeClientConfiguration()
        switch location.sslMode {
        case .disable: return .disable
        case .prefer, .require: configuration.certificateVerification = .none
        case .verifyCA: configuration.certificateVerification = .noHostnameVerification
        case .verifyFull: configuration.certificateVerification = .fullVerification
        }
        if let file = location.rootCertificate { configuration.trustRoots = .file(file) }
        let context = try NIOSSLContext(configuration: configuration)
        return location.sslMode == .prefer ? .prefer(context) : .require(context)
    }

    private var closed = false

    /// Closes the connection (once; PostgresNIO requires it before the connection goes).
    func close() {
        lock.withLock {
            guard !closed else { return }
            closed = true
            try? connection.close().wait()
        }
    }

    deinit { close() }

    /// `LISTEN channel`: the notifications sent to it, while the sequence is iterated. This
    /// connection is then for listening only.
    func notifications(channel: String) async throws -> PostgresNotificationSequence {
        let connection = try lock.withLock { () throws(StoreError) -> PostgresConnection in try live() }
        return try await connection.listen(channel)
    }

    /// Runs `body` holding the connection: statements inside go one after the other.
    func withConnection<T>(_ body: (Connection) throws -> T) throws(StoreError) -> T {
        do {
            return try lock.withLock { try body(Connection(connection: try live(), logger: logger)) }
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(.sqlError, Self.describe(error), underlying: error)
        }
    }

    /// Runs `body` in one transaction: committed when it returns, rolled back when it
    /// throws (its error is rethrown as it is).
    func transaction<T>(readOnly: Bool = false, _ body: (Connection) throws -> T) throws -> T {
        try lock.withLock {
            let db = Connection(connection: try live(), logger: logger)
            try db.execute(readOnly ? "BEGIN READ ONLY" : "BEGIN")
            do {
                let result = try body(db)
                try db.execute("COMMIT")
                return result
            } catch {
                try? db.execute("ROLLBACK")
                throw error
            }
        }
    }

    /// The server's message (and what it points at), not the driver's wrapper of it.
    static func describe(_ error: any Error) -> String {
        if let error = error as? PSQLError {
            if let message = error.serverInfo?[.message] {
                let detail = error.serverInfo?[.detail].map { " (\($0))" } ?? ""
                return message + detail
            }
            // The driver's code alone ("connectionError") says little: the cause does (a
            // certificate that is not trusted or not for this host, a refused connection).
            if let cause = error.underlying { return "\(error.code): \(cause)" }
            return "\(error.code)"
        }
        return "\(error)"
    }

    /// Statements on the held connection. Every value is sent as text and cast in the
    /// SQL where its column needs another type (`$1::bigint`): what a value is stays
    /// decided by the core's conversions, as in SQLite.
    struct Connection {
        let connection: PostgresConnection
        let logger: Logger

        func execute(_ sql: String, _ values: [SQLValue] = []) throws {
            _ = try connection.query(Self.query(sql, values), logger: logger).wait()
        }

        /// Rows as text (nil for NULL); every column of `sql` must be text, an integer, a
        /// double, a boolean or JSON — other types are cast to text in the SQL.
        func rows(_ sql: String, _ values: [SQLValue] = []) throws -> [[String?]] {
            let result = try connection.query(Self.query(sql, values), logger: logger).wait()
            return result.rows.map { row in row.map(Self.text) }
        }

        /// How many rows a write statement changed.
        func changes(_ sql: String, _ values: [SQLValue] = []) throws -> Int {
            let result = try connection.query(Self.query(sql, values), logger: logger).wait()
            return result.metadata.rows ?? 0
        }

        func firstValue(_ sql: String, _ values: [SQLValue] = []) throws -> String? {
            try rows(sql, values).first?.first ?? nil
        }

        static func query(_ sql: String, _ values: [SQLValue]) -> PostgresQuery {
            var bindings = PostgresBindings(capacity: values.count)
            for value in values {
                switch value {
                case .null: bindings.appendNull()
                case .integer(let number): bindings.append(String(number))
                case .real(let number): bindings.append(number.isFinite ? "\(number)" : nil as String?)
                case .text(let text): bindings.append(text)
                case .blob(let bytes): bindings.append("\\x" + PostgresStore.hex(bytes))
                }
            }
            return PostgresQuery(unsafeSQL: sql, binds: bindings)
        }

        /// A `numeric` in PostgreSQL's binary form as text with every digit of its scale
        /// (`12.50` stays `12.50`, as the decimal text SQLite keeps).
        static func numericText(_ bytes: ByteBuffer) -> String? {
            var buffer = bytes
            guard let count = buffer.readInteger(as: Int16.self), let weight = buffer.readInteger(as: Int16.self),
                  let sign = buffer.readInteger(as: UInt16.self), let scale = buffer.readInteger(as: UInt16.self), count >= 0 else { return nil }
            switch sign {
            case 0xC000: return "NaN"
            case 0xD000: return "Infinity"
            case 0xF000: return "-Infinity"
            default: break
            }
            var digits: [Int16] = []
            for _ in 0..<count {
                guard let digit = buffer.readInteger(as: Int16.self) else { return nil }
                digits.append(digit)
            }
            // The group at index k is worth 10000^(weight - k).
            func group(_ index: Int) -> Int16 { index >= 0 && index < digits.count ? digits[index] : 0 }
            func padded(_ value: Int16) -> String { let text = String(value); return String(repeating: "0", count: 4 - text.count) + text }
            var text = sign == 0x4000 ? "-" : ""
            if weight < 0 {
                text += "0"
            } else {
                text += String(group(0))
                for index in stride(from: 1, through: Int(weight), by: 1) { text += padded(group(index)) }
            }
            if scale > 0 {
                var fraction = ""
                var index = Int(weight) + 1
                while fraction.count < Int(scale) {
                    fraction += padded(group(index))
                    index += 1
                }
                text += "." + fraction.prefix(Int(scale))
            }
            return text
        }

        /// A cell as text, whatever its type.
        static func text(_ cell: PostgresCell) -> String? {
            guard let bytes = cell.bytes else { return nil }
            switch cell.dataType {
            case .int2: return (try? cell.decode(Int16.self)).map { String($0) }
            case .int4: return (try? cell.decode(Int32.self)).map { String($0) }
            case .int8: return (try? cell.decode(Int64.self)).map { String($0) }
            case .float4: return (try? cell.decode(Float.self)).map { "\($0)" }
            case .float8: return (try? cell.decode(Double.self)).map { "\($0)" }
            case .bool: return (try? cell.decode(Bool.self)).map { $0 ? "1" : "0" }
            case .numeric: return numericText(bytes)
            case .timestamptz, .timestamp:
                // Microseconds after 2000-01-01, written as the core writes date-times.
                var buffer = bytes
                guard buffer.readableBytes == 8, let micros = buffer.readInteger(as: Int64.self) else { return nil }
                let (seconds, fraction) = micros.quotientAndRemainder(dividingBy: 1_000_000)
                let adjust = fraction < 0 ? 1 as Int64 : 0
                return UTCDateTime(seconds: 946_684_800 + seconds - adjust, nanoseconds: Int32((fraction + adjust * 1_000_000) * 1000)).description
            case .date:
                var buffer = bytes
                guard buffer.readableBytes == 4, let days = buffer.readInteger(as: Int32.self) else { return nil }
                return String(UTCDateTime(seconds: 946_684_800 + Int64(days) * 86_400).description.prefix(10))
            case .bytea: return PostgresStore.hex(bytes.readableBytesView)
            default: return try? cell.decode(String.self)
            }
        }
    }
}
