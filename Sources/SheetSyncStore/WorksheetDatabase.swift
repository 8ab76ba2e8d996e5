import CSheetSyncSQLite
import Foundation
import GRDB
import SheetSyncCore

/// The project's SQLite file: worksheet tables plus sheetsync's `_sheetsync_*` tables.
///
/// Opened in WAL mode with a busy timeout and foreign keys on, so that users can
/// read (and write) the same file with `sqlite3`, Datasette or their own code while
/// sheetsync runs.
public final class WorksheetDatabase: Sendable {
    /// How long a writer waits for another writer's lock before giving up.
    public static let busyTimeout: TimeInterval = 10

    public let path: String
    let pool: DatabasePool
    /// The file's device and inode when it was opened (see `checkFileInPlace()`).
    let fileIdentity: FileIdentity?
    /// Checkpoints the log after writes, beside the writer.
    let checkpointer: WALCheckpointer

    /// Opens (creating if needed) the database at `path` and brings sheetsync's own
    /// tables up to date. Worksheet tables are changed only by `migrate(_:)`.
    public init(path: String) throws(StoreError) {
        _ = Self.sqliteConfigured
        self.path = path
        var configuration = Configuration()
        configuration.busyMode = .timeout(Self.busyTimeout)
        configuration.foreignKeysEnabled = true
        configuration.label = "sheetsync"
        // Checkpoints run beside the writer (`WALCheckpointer`), not in the connection that commits.
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA wal_autocheckpoint = 0")
            // New change ids in set-based statements (taking in the outbox): `chg_` and 122
            // random bits, the same generator as `Delivery.newChangeID()`.
            db.add(function: DatabaseFunction("sheetsync_change_id", argumentCount: 0, pure: false) { _ in Delivery.newChangeID() })
        }
        do {
            let directory = (path as NSString).deletingLastPathComponent
            if !directory.isEmpty, !FileManager.default.fileExists(atPath: directory) {
                throw StoreError(.cannotOpen, "Unable to open database '\(path)', the directory '\(directory)' does not exist. Create it or choose another path with --db.")
            }
            // A new database file is created readable by its owner only (0600, whatever
            // the umask): it holds the users' data. SQLite gives its -wal and -shm files
            // the same mode. An existing file keeps the mode its owner gave it.
            if !FileManager.default.fileExists(atPath: path) {
                let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
                if descriptor >= 0 { Glibc.close(descriptor) }
            } else {
                // Refuse a file written by a newer sheetsync before anything writes to it
                // (opening a pool writes: GRDB creates and drops a table to set up WAL).
                try BookkeepingMigrations.refuseNewer(path: path)
            }
            fileIdentity = FileIdentity(path: path)
            pool = try DatabasePool(path: path, configuration: configuration)
            checkpointer = try WALCheckpointer(path: path)
            try pool.write { db in
                try BookkeepingMigrations.run(db)
                // Runs left 'running' by a process that is gone (killed, crashed).
                _ = try Self.markInterruptedRuns(db)
            }
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(.cannotOpen, "Unable to open database '\(path)', \(describe(error)). Check the path and its permissions, or choose another with --db.", underlying: error)
        }
    }

    deinit {
        // Before the pool closes: its last connection then checkpoints and removes the log.
        checkpointer.close()
    }

    /// SQLite's process-wide settings, made once before the first database opens
    /// (`sheetsync_sqlite_configure`: no memory statistics, whose mutex every allocation took).
    private static let sqliteConfigured: Int32 = sheetsync_sqlite_configure()

    /// Closes every connection now (checkpointing the WAL), instead of when the last
    /// reference goes. Nothing may be used afterwards.
    public func close() throws(StoreError) {
        checkpointer.close()
        do {
            // Everything into the file and the log emptied, whichever connection closes last:
            // SQLite removes the log only when the last connection to close can write, and a
            // pool's readers are read-only (a stopped daemon left a 20 KB log, 2026-12-02).
            try? pool.writeWithoutTransaction { db in _ = try db.checkpoint(.truncate) }
            try pool.close()
        } catch {
            throw StoreError(.sqlError, "Unable to close database '\(path)', \(describe(error)).", underlying: error)
        }
    }

    /// Throws when the file at `path` is no longer the file this database has open: removed
    /// (`rm`), or replaced (a backup moved over it). SQLite goes on writing to the file it
    /// has open, which nobody can open any more; a daemon checks before each run and stops.
    public func checkFileInPlace() throws(StoreError) {
        guard let opened = fileIdentity else { return }
        let current = FileIdentity(path: path)
        guard current != opened else { return }
        let found = current.map { "another file (inode \($0.inode))" } ?? "no file"
        throw StoreError(.fileReplaced, "Unable to go on with database '\(path)', the file was removed or replaced while sheetsync had it open (it had inode \(opened.inode); the path now holds \(found)), so what is written now would go to a file nobody can open. Restart sheetsync to use the file at the path (a new one is created if there is none).")
    }

    /// Versions of sheetsync's own tables that have been applied, in order.
    public func appliedMigrations() throws(StoreError) -> [String] {
        try read { db in try String.fetchAll(db, sql: "SELECT name FROM _sheetsync_migrations ORDER BY version") }
    }

    /// Runs `body` in a read transaction, translating errors.
    func read<T>(_ body: (Database) throws -> T) throws(StoreError) -> T {
        do {
            return try pool.read(body)
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(.sqlError, describe(error), underlying: error)
        }
    }

    /// Runs `body` in one write transaction, translating errors.
    func write<T>(_ body: (Database) throws -> T) throws(StoreError) -> T {
        do {
            defer { checkpointer.request() }
            return try pool.write(body)
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(.sqlError, describe(error), underlying: error)
        }
    }
}

/// SQLite's own message for a GRDB error, without GRDB's decoration.
///
/// Where the user can act on it, a hint follows: a full disk or a file size limit, an
/// I/O error, another writer holding the lock past the busy timeout.
func describe(_ error: any Error) -> String {
    guard let error = error as? DatabaseError else { return "\(error)" }
    let message = error.message ?? "\(error.resultCode)"
    switch error.resultCode.primaryResultCode {
    case .SQLITE_FULL:
        return message + " (the disk is full or a file size limit was reached; the transaction was rolled back, so nothing of it was written: free space and run again)"
    case .SQLITE_IOERR:
        return message + " (writing the file failed, for example because the disk is full or a file size limit was reached; the transaction was rolled back: check free space and the file, then run again)"
    case .SQLITE_BUSY:
        return message + " (another program held the database's write lock for longer than the \(Int(WorksheetDatabase.busyTimeout)) s busy timeout; run again when it is done)"
    default:
        return message
    }
}

/// Which file a path names: its device and inode.
struct FileIdentity: Equatable, Sendable {
    var device: UInt64
    var inode: UInt64

    /// nil when there is no file at `path`.
    init?(path: String) {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        device = UInt64(info.st_dev)
        inode = UInt64(info.st_ino)
    }
}
