import ArgumentParser
import Foundation

/// `sheetsync init [DIR]`: starts a project with one worksheet and one commented pull job.
///
/// It never overwrites: a directory that already has `sheetsync.yml`, `schema/` or `jobs/`
/// is refused, naming what is there. An existing `.gitignore` gets the lines it lacks.
struct Init: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Start a project: sheetsync.yml, schema/ and jobs/ with one commented example, and a .gitignore.",
        discussion: paragraphs("""
            The example job pulls customers from the demo shop ('sheetsync demo serve' runs \
            one on 127.0.0.1:8080); change its URL, headers and fields for your API. Nothing \
            that exists is overwritten.
            """))

    @Argument(help: ArgumentHelp("Directory to create the project in (default: --project, else the current one).", valueName: "dir"))
    var directory: String?

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let root = URL(fileURLWithPath: directory ?? global.project, isDirectory: true).standardizedFileURL
        let fileManager = FileManager.default
        let taken = ["sheetsync.yml", "schema", "jobs"].filter { fileManager.fileExists(atPath: root.appendingPathComponent($0).path) }
        if !taken.isEmpty {
            Output.err("error: \(root.path) already has \(taken.joined(separator: ", ")); 'sheetsync init' never overwrites a project. Choose a new or empty directory, or add jobs to this one by hand (see 'sheetsync validate').")
            throw ExitCode.failure
        }
        do {
            for (path, text) in Self.files {
                let url = root.appendingPathComponent(path)
                try fileManager.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                try text.write(to: url, atomically: false, encoding: .utf8)
            }
            try Self.addIgnoredFiles(to: root.appendingPathComponent(".gitignore"))
            // The editors' schemas, named by the first line of each file (yaml-language-server).
            try SchemaCommand.writeAll(to: root.appendingPathComponent(".sheetsync"))
        } catch {
            Output.err("error: cannot write the project in \(root.path): \(error.localizedDescription). Check that the directory is writable.")
            throw ExitCode.failure
        }
        let flag = root.path == URL(fileURLWithPath: fileManager.currentDirectoryPath).standardizedFileURL.path ? "" : " --project \(Self.shellQuoted(directory ?? global.project))"
        Output.out("""
            Created a sheetsync project in \(root.path):
              sheetsync.yml          settings: the database file, defaults for {{env.…}}
              schema/customers.yml   a worksheet: its key and typed fields
              jobs/customers.yml     a pull job that fills it from an API
              .gitignore             keeps the database and the secrets file out of git
              .sheetsync/            JSON Schemas: editors with the YAML language server complete and check keys

            Next, try the example against the demo shop, then make it yours:
              sheetsync demo serve                       # in another terminal: prints the token
              export SHOP_TOKEN=<the token it printed>
              sheetsync validate\(flag)
              sheetsync test customers\(flag)
              sheetsync run customers\(flag)
              sheetsync query "SELECT * FROM customers LIMIT 5"\(flag)
            """)
    }

    /// Adds the lines of `ignored` a `.gitignore` lacks (creating it when there is none).
    static func addIgnoredFiles(to url: URL) throws {
        let existing = (try? String(contentsOf: url, encoding: .utf8)) ?? ""
        let present = Set(existing.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) })
        let missing = ignored.filter { !present.contains($0) }
        guard !missing.isEmpty else { return }
        let separator = existing.isEmpty || existing.hasSuffix("\n") ? "" : "\n"
        let header = existing.isEmpty ? "" : "\n"
        try (existing + separator + header + "# sheetsync: the database and the secrets file\n" + missing.joined(separator: "\n") + "\n")
            .write(to: url, atomically: true, encoding: .utf8)
    }

    static let ignored = ["*.db", "*.db-wal", "*.db-shm", "*.db.lock", ".secrets.yml"]

    static func shellQuoted(_ text: String) -> String {
        text.allSatisfy { $0.isLetter || $0.isNumber || "/._-".contains($0) } ? text : "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    static let files: [(String, String)] = [
        ("sheetsync.yml", """
            # yaml-language-server: $schema=.sheetsync/settings.schema.json
            # sheetsync project settings. Every key is optional.
            database: sheetsync.db          # the SQLite file the worksheets live in (a directory in the path is created)
            # timezone: UTC                 # time zone of schedules and backfill dates
            # secrets_file: .secrets.yml    # NAME: value lines (chmod 600); the environment wins
            env:
              # Defaults for {{env.X}} when the environment does not set X.
              # `sheetsync demo serve` runs a shop with customers here.
              SHOP_URL: "http://127.0.0.1:8080"

            """),
        ("schema/customers.yml", """
            # yaml-language-server: $schema=../.sheetsync/worksheet.schema.json
            # A worksheet: one SQLite table, created and altered by `sheetsync migrate` (and by
            # every run). Types: text, integer, decimal, boolean, date, datetime, json.
            worksheet: customers
            description: Customers of the shop.
            key: [id]                       # the row's identity: runs update rows with the same key
            fields:
              id: text
              email: text
              name: text
              country: text
              vip: boolean
              created_at: datetime

            """),
        ("jobs/customers.yml", """
            # yaml-language-server: $schema=../.sheetsync/job.schema.json
            # A pull job: request pages from an API and upsert the records into a worksheet.
            # Try it: `sheetsync test customers` shows the response and the rows it would make;
            # `sheetsync run customers` writes them.
            kind: pull
            worksheet: customers
            description: Customers from the demo shop
            schedule: "@hourly"             # used by `sheetsync serve`; cron or @every 10m also work
            request:
              url: "{{env.SHOP_URL}}/v1/customers"
              headers:
                # Secrets come from the environment (or secrets_file), never from job files.
                Authorization: "Bearer {{secret.SHOP_TOKEN}}"
            # Follow pages: ?page=1,2,… with per_page=100 until has_more is false.
            paginate: { style: page, size_param: per_page, size: 100, has_more: "$.has_more" }
            records: "$.data"               # where the array of records is in each response
            # Columns from members of the record; without `fields:` members map by name.
            fields:
              id: "$.id"
              email: "$.email"
              name: "$.name"
              country: "$.country"
              vip: "$.vip"
              created_at: "$.created_at"

            """),
    ]
}
