import Dispatch
import GRDB
import Synchronization

/// Copies the write-ahead log into the database file on a connection and a thread of its
/// own, beside the writer.
///
/// SQLite checkpoints automatically in the connection that commits, once the log passes
/// 1,000 pages: on a first load that was ~16% of the writing thread (`perf`, issue 17),
/// the slower of the two a pull keeps busy. The pool's connections do not checkpoint
/// (`wal_autocheckpoint = 0`); after each write transaction this asks for a passive
/// checkpoint (it never waits for the writer or for readers, and copies what it can),
/// run at most one at a time, again when asked meanwhile. Other programs writing the file
/// keep their own automatic checkpoints. Errors are ignored: the next request tries again,
/// and closing the database checkpoints what is left.
final class WALCheckpointer: Sendable {
    private let queue = DispatchQueue(label: "sheetsync.checkpoint")
    private struct State {
        var connection: DatabaseQueue?
        var running = false
        var again = false
        var closed = false
    }
    private let state: Mutex<State>

    /// Opens its connection now, beside the pool's: opened later, after the file was removed
    /// or replaced, it would check a file nobody else writes (or create an empty one).
    init(path: String) throws {
        var configuration = Configuration()
        configuration.label = "sheetsync.checkpoint"
        state = Mutex(State(connection: try DatabaseQueue(path: path, configuration: configuration)))
    }

    /// Asks for a checkpoint soon.
    func request() {
        let start = state.withLock { state -> Bool in
            guard !state.closed else { return false }
            if state.running {
                state.again = true
                return false
            }
            state.running = true
            return true
        }
        if start { queue.async { self.run() } }
    }

    private func run() {
        while true {
            let connection = state.withLock { state in state.closed ? nil : state.connection }
            if let connection {
                _ = try? connection.writeWithoutTransaction { db in try db.checkpoint(.passive) }
            }
            let repeatRun = state.withLock { state -> Bool in
                if state.again, !state.closed {
                    state.again = false
                    return true
                }
                state.running = false
                return false
            }
            if !repeatRun { return }
        }
    }

    /// Waits for a checkpoint under way and closes the connection; later requests do nothing.
    func close() {
        queue.sync {}
        let connection = state.withLock { state -> DatabaseQueue? in
            state.closed = true
            defer { state.connection = nil }
            return state.connection
        }
        try? connection?.close()
    }
}
