import Foundation

/// An exclusive lock on `<database>.lock`, so only one daemon runs a database's schedule.
/// It is held until `release()` or until the lock is deallocated.
public final class DatabaseLock: @unchecked Sendable {
    public let path: String
    private let guardLock = NSLock()
    /// -1 once released.
    private var descriptor: Int32

    /// Takes the lock, or returns nil when another process (or another `DatabaseLock`)
    /// holds it, unless `wait`.
    public init?(database: String, wait: Bool) {
        path = database + ".lock"
        let descriptor = open(path, O_RDWR | O_CREAT, 0o644)
        guard descriptor >= 0 else { return nil }
        if flock(descriptor, LOCK_EX | (wait ? 0 : LOCK_NB)) != 0 {
            close(descriptor)
            return nil
        }
        let pid = "\(getpid())\n"
        ftruncate(descriptor, 0)
        _ = pid.withCString { write(descriptor, $0, strlen($0)) }
        self.descriptor = descriptor
    }

    /// The pid written by the current holder.
    public static func holder(of database: String) -> String? {
        (try? String(contentsOfFile: database + ".lock", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Lets another daemon take the database; does nothing the second time.
    public func release() {
        guardLock.lock()
        defer { guardLock.unlock() }
        guard descriptor >= 0 else { return }
        flock(descriptor, LOCK_UN)
        close(descriptor)
        descriptor = -1
    }

    deinit {
        release()
    }
}
