import ArgumentParser
import Foundation
import SheetSyncCore
import SheetSyncFiles
import SheetSyncPostgres
import SheetSyncStore

extension GlobalOptions {
    var projectURL: URL {
        URL(fileURLWithPath: project, isDirectory: true).standardizedFileURL
    }

    /// Loads the project; the caller decides which problems stop it.
    func loadProject(environment: [String: String]? = nil) -> Project {
        ProjectLoader.load(directory: projectURL, environment: environment ?? ProcessInfo.processInfo.environment,
                           checkCondition: WorksheetDatabase.conditionProblem)
    }

    /// Loads the project and stops with exit code 1 when `blocking` finds errors
    /// (all of the project's problems are printed to stderr either way).
    func loadProject(environment: [String: String]? = nil, blockingOn blocking: (Diagnostic) -> Bool = { _ in true }) throws -> Project {
        let project = loadProject(environment: environment)
        let blockers = project.errors.filter(blocking)
        // Show what concerns this command in full; other files' problems in one line.
        let relevant = project.diagnostics.filter(blocking)
        if !relevant.isEmpty { Output.report(relevant) }
        let otherErrors = project.errors.count - blockers.count
        if otherErrors > 0 {
            Output.err("note: \(otherErrors) problem(s) in other project files; run 'sheetsync validate' to see them.")
        }
        if !blockers.isEmpty {
            Output.err("Fix the problems above (run 'sheetsync validate' to list them), then try again.")
            throw ExitCode.failure
        }
        return project
    }

    func databasePath(for project: Project) -> String {
        project.databaseURL(override: database).path
    }

    /// The PostgreSQL URL, when the project's database is on a server: `--db`, else
    /// `SHEETSYNC_DB`, else `database:` in sheetsync.yml — the first one set decides.
    func postgresURL(for project: Project) -> String? {
        let setting = [database, project.environment["SHEETSYNC_DB"], project.settings.database]
            .compactMap { $0 }.first { !$0.isEmpty }
        return setting.flatMap { PostgresLocation.isURL($0) ? $0 : nil }
    }

    /// Whether the database is there to be read: the file exists, or it is on a server
    /// (where connecting says whether it is reachable).
    func databaseExists(for project: Project) -> Bool {
        postgresURL(for: project) != nil || FileManager.default.fileExists(atPath: databasePath(for: project))
    }

    /// The database for a command that works on either store: PostgreSQL when the
    /// project names a `postgres://` URL, else the SQLite file (see `openSQLite`).
    func openStore(for project: Project) throws -> any WorksheetStore {
        guard let url = postgresURL(for: project) else { return try openSQLite(for: project) }
        do {
            let location = try PostgresLocation.parse(url, environment: project.environment)
            return try PostgresStore(location, password: try location.password(secret: { project.secrets.value($0) },
                                                                             environment: project.environment))
        } catch {
            Output.err("error: \(error.message)")
            throw ExitCode.failure
        }
    }

    /// Opens the project's SQLite database, creating sheetsync's own tables if needed — and
    /// the directory it goes in (`database: data/shop.db` in a fresh clone). Every command
    /// works on either store (`openStore`); this is its SQLite half.
    private func openSQLite(for project: Project) throws -> WorksheetDatabase {
        let path = databasePath(for: project)
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent()
        if !FileManager.default.fileExists(atPath: directory.path) {
            do {
                try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            } catch {
                Output.err("error: cannot create the directory \(directory.path) for the database \(path): \(error.localizedDescription); create it, or set 'database:' in sheetsync.yml (or --db) to a writable place")
                throw ExitCode.failure
            }
        }
        do {
            return try WorksheetDatabase(path: path)
        } catch {
            Output.err("error: \(error.message)")
            throw ExitCode.failure
        }
    }
}

/// Only problems in sheetsync.yml and schema/ block commands that touch tables.
func isSchemaProblem(_ diagnostic: Diagnostic) -> Bool {
    diagnostic.file == "sheetsync.yml" || diagnostic.file.hasPrefix("schema/")
}
