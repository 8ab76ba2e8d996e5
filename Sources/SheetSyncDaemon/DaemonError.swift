/// Why the daemon could not start.
public struct DaemonError: Error, CustomStringConvertible, Sendable {
    public enum Code: String, Sendable {
        /// Another daemon holds the database's lock.
        case locked
        /// The project's schema could not be applied to the database.
        case schema
        /// The database file was removed or replaced while the daemon ran.
        case databaseGone = "database_gone"
        /// The HTTP endpoints could not listen on their address.
        case address
    }

    public var code: Code
    /// What happened and what to do, for people.
    public var message: String
    public var underlying: (any Error)?

    public init(_ code: Code, _ message: String, underlying: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.underlying = underlying
    }

    public var description: String { message }
}
