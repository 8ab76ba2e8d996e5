import Foundation
import SheetSyncStore

/// A few connections for the store's statements, opened as they are needed (a command
/// uses one; a daemon with runs, push passes and skipped ticks side by side, up to
/// `limit`). Every statement and transaction takes one connection for its duration,
/// waiting for one to be free when all are busy.
///
/// One connection was the first design: fine for a command, but in `serve` every page,
/// run row and delivery of every job then took turns on it, and three nodes with 20 jobs
/// a second (the cluster test) waited for it for tens of seconds — heartbeats and
/// takeovers with them. Nothing the store does needs the same connection twice: its
/// transactions are whole in one call and its settings `SET LOCAL`.
final class PostgresPool: @unchecked Sendable {
    private let location: PostgresLocation
    private let password: String?
    private let limit: Int
    private let condition = NSCondition()
    private var idle: [PostgresSession] = []
    private var opened = 0
    private var closed = false

    /// Connects the first connection now, so a wrong URL or password fails at open.
    init(_ location: PostgresLocation, password: String?, limit: Int) throws(StoreError) {
        self.location = location
        self.password = password
        self.limit = max(1, limit)
        idle = [try PostgresSession(location, password: password)]
        opened = 1
    }

    /// Connections open now (idle or in use).
    var count: Int { condition.withLock { opened } }

    private func checkOut() throws(StoreError) -> PostgresSession {
        condition.lock()
        while true {
            if closed {
                condition.unlock()
                throw StoreError(.sqlError, "the database connection was closed")
            }
            if let session = idle.popLast() {
                condition.unlock()
                return session
            }
            if opened < limit {
                opened += 1
                condition.unlock()
                do {
                    return try PostgresSession(location, password: password)
                } catch {
                    condition.withLock { opened -= 1 }
                    condition.signal()
                    throw error
                }
            }
            condition.wait()
        }
    }

    private func checkIn(_ session: PostgresSession) {
        condition.lock()
        if closed { session.close() } else { idle.append(session) }
        condition.signal()
        condition.unlock()
    }

    /// Runs `body` on a connection of its own (statements one after the other).
    func withConnection<T>(_ body: (PostgresSession.Connection) throws -> T) throws(StoreError) -> T {
        let session = try checkOut()
        defer { checkIn(session) }
        return try session.withConnection(body)
    }

    /// Runs `body` in one transaction on a connection of its own (see `PostgresSession.transaction`).
    func transaction<T>(readOnly: Bool = false, _ body: (PostgresSession.Connection) throws -> T) throws -> T {
        let session = try checkOut()
        defer { checkIn(session) }
        return try session.transaction(readOnly: readOnly, body)
    }

    /// Closes the idle connections now, and the busy ones as they come back.
    func close() {
        condition.lock()
        closed = true
        let sessions = idle
        idle = []
        condition.broadcast()
        condition.unlock()
        for session in sessions { session.close() }
    }
}
