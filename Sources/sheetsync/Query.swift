import ArgumentParser
import Foundation
import SheetSyncCore
import SheetSyncStore

/// `sheetsync query "SQL"`: runs SQL against the project's database.
struct Query: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run SQL against the database and print the rows.",
        discussion: "The connection is read-only: a statement that writes is refused unless --write is given."
    )

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case table, csv, json
    }

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The SQL to run (one or more statements; the last result is printed).")
    var sql: String

    @Option(help: "Output format: table, csv or json.")
    var format: Format = .table

    @Flag(help: "Allow statements that write (INSERT, UPDATE, DELETE, DDL).")
    var write = false

    func run() async throws {
        // Only sheetsync.yml matters here (it may name the database); broken jobs do not stop a query.
        let project = try global.loadProject(blockingOn: { $0.file == "sheetsync.yml" })
        let path = global.databasePath(for: project)
        if !global.databaseExists(for: project) {
            Output.err("error: Unable to open database '\(path)', the file does not exist. Run 'sheetsync migrate' (or a job) first, or pass --db.")
            throw ExitCode.failure
        }
        let result: QueryResult
        let server = global.postgresURL(for: project) != nil ? try global.openStore(for: project) : nil
        do {
            if let server {
                result = try server.query(sql: sql, allowWrite: write)
            } else {
                result = try WorksheetDatabase.query(path: path, sql: sql, allowWrite: write)
            }
        } catch {
            Output.err("error: \(error.message)")
            throw ExitCode.failure
        }
        if !result.returnsRows {
            Output.err("\(result.changes) row(s) changed")
            return
        }
        switch format {
        case .table:
            Output.out(TextTable.render(header: result.columns, rows: result.rows.map { $0.map(TextTable.cell) }))
            Output.err("(\(result.rows.count) row\(result.rows.count == 1 ? "" : "s"))")
        case .csv:
            Output.out(CSVWriter.render(header: result.columns, rows: result.rows))
        case .json:
            let objects = result.rows.map { row in
                JSONValue.object(JSONObject(zip(result.columns, row).map { JSONObject.Member(key: $0, value: $1.jsonValue) }))
            }
            Output.out(JSONValue.array(objects).jsonText)
        }
    }
}

