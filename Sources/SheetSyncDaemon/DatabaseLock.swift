import Foundation

/// An exclusive lock on `<database>.lock`, so only one daemon runs a database's schedule.
/// It is held until `release()` or until the lock is deallocated.
///
/// The lock file sits beside the database's real file (symlinks resolved), so the same
/// database reached through a symlink or another spelling of its path has the same lock.
public final class DatabaseLock: @unchecked Sendable {
    public let path: String
    private let guardLock = NSLock()
    /// -1 once released.
    private var descriptor: Int32

    /// Takes the lock, or returns nil when another process (or another `DatabaseLock`)
    /// holds it, unless `wait`.
    public init?(database: String, wait: Bool) {
        path = Self.lockPath(for: database)
        let descriptor = open(path, O_RDWR | O_CREAT, 0o644)
        guard descriptor >= 0 else { return nil }
        // `holder(of:)` (sheetsync status) holds a shared lock for a moment to look: a few
        // tries tell that apart from a daemon holding the lock.
        var attempt = 0
        while flock(descriptor, LOCK_EX | (wait ? 0 : LOCK_NB)) != 0 {
            attempt += 1
            guard !wait, errno == EWOULDBLOCK, attempt < 5 else {
                close(descriptor)
                return nil
            }
            usleep(20_000)
        }
        let pid = "\(getpid())\n"
        ftruncate(descriptor, 0)
        _ = pid.withCString { write(descriptor, $0, strlen($0)) }
        self.descriptor = descriptor
    }

    /// `<database>.lock` beside the database's real file; the path as given when the file
    /// does not exist yet.
    public static func lockPath(for database: String) -> String {
        guard let resolved = realpath(database, nil) else { return database + ".lock" }
        defer { free(resolved) }
        return String(cString: resolved) + ".lock"
    }

    /// The pid of the daemon that holds the database's lock, nil when no daemon does.
    ///
    /// The lock is tried (shared, without waiting): a lock file left behind by a daemon that
    /// was killed, whose pid may now be another process's, holds no lock. The pid is then the
    /// one the holder wrote ("?" should the file not hold one).
    public static func holder(of database: String) -> String? {
        let path = lockPath(for: database)
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        if flock(descriptor, LOCK_SH | LOCK_NB) == 0 {
            flock(descriptor, LOCK_UN)
            return nil
        }
        guard errno == EWOULDBLOCK else { return nil }
        let text = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        guard let pid = Int32(text), pid > 0 else { return "?" }
        return String(pid)
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
