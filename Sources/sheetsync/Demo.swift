import ArgumentParser
import Foundation
import SheetSyncCore
import SheetSyncDemo
import SheetSyncFiles
import SheetSyncRunner
import SheetSyncStore

/// `sheetsync demo`: the whole product in one command, against the built-in shop.
struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Start the built-in demo shop, sync its orders and customers into a fresh database, and show what happened.",
        usage: """
            sheetsync demo [--dir <dir>] [--orders <orders>] [--seed <seed>] [--log-level <log-level>] [--log-format <log-format>]
            sheetsync demo serve [--port <port>] [--orders <orders>] [--seed <seed>] [--fail-rate <fail-rate>]
            """,
        discussion: paragraphs("""
            The demo project (sheetsync.yml, schema/, jobs/) and its database are written to --dir \
            (--project is the same option); query them afterwards. The directory must be new, \
            empty, or one an earlier 'sheetsync demo' made: then its database is made afresh.
            """),
        subcommands: [Serve.self]
    )

    @Option(name: [.customLong("dir"), .customLong("project")], help: "Where to write the demo project and its database.")
    var dir: String = "sheetsync-demo"

    @OptionGroup var shopOptions: DemoShopOptions

    @Option(name: .customLong("log-level"), help: "How much is logged on stderr.")
    var logLevel: LogLevelOption = .warning

    @Option(name: .customLong("log-format"), help: "How log lines on stderr look.")
    var logFormat: LogFormat = .text

    /// The file that says a directory is the demo's own (safe to write over).
    static let marker = ".sheetsync-demo"

    func run() async throws {
        let directory = URL(fileURLWithPath: dir, isDirectory: true).standardizedFileURL
        try Self.checkDirectory(directory)
        let shop = DemoShop(.init(seed: shopOptions.seed, orders: shopOptions.orders))
        let server = try await shop.start()
        Output.err("demo shop: \(server.baseURL) (\(shopOptions.orders) orders, token '\(shop.data.configuration.token)')")
        do {
            try await runDemo(shop: shop, server: server, directory: directory)
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
    }

    /// Refuses a directory with files that an earlier demo did not write: the demo writes
    /// over sheetsync.yml, schema/ and jobs/, and makes its database afresh.
    static func checkDirectory(_ directory: URL) throws {
        let fileManager = FileManager.default
        guard let entries = try? fileManager.contentsOfDirectory(atPath: directory.path), !entries.isEmpty else { return }
        if entries.contains(marker) {
            Output.err("note: \(directory.path) holds an earlier demo; its project files and database are made afresh")
            return
        }
        Output.err("error: \(directory.path) is not empty (\(entries.sorted().prefix(4).joined(separator: ", "))\(entries.count > 4 ? ", …" : "")) and was not made by 'sheetsync demo', which would overwrite its sheetsync.yml, schema/ and jobs/. Choose a new directory with --dir, or an empty one.")
        throw ExitCode.failure
    }

    private func runDemo(shop: DemoShop, server: LoopbackServer, directory: URL) async throws {
        try writeProject(to: directory, shopURL: server.baseURL)
        var environment = ProcessInfo.processInfo.environment
        environment["SHOP_TOKEN"] = shop.data.configuration.token
        environment["SHOP_URL"] = server.baseURL
        environment["ERP_URL"] = server.baseURL
        environment["SHEETSYNC_DB"] = nil
        let project = ProjectLoader.load(directory: directory, environment: environment)
        if project.hasErrors {
            Output.report(project.errors)
            throw ExitCode.failure
        }
        let databasePath = project.databaseURL().path
        let database: WorksheetDatabase
        do {
            database = try WorksheetDatabase(path: databasePath)
            try database.migrate(project.worksheets, captured: project.capturedWorksheets, pushJobs: project.pushJobWorksheets)
        } catch {
            Output.err("error: \(error.message)")
            throw ExitCode.failure
        }
        let transport = try JobRunner.makeTransport(for: project)
        let runner = JobRunner(project: project, database: database, transport: transport, logger: LoggingSetup.makeLogger(level: logLevel, format: logFormat))
        var worst: Int32 = 0
        func run(_ name: String, indent: String = "  ") async {
            guard let job = project.job(named: name) else { return }
            let summary = await runner.run(job, trigger: .demo)
            Output.out(indent + summary.line.replacingOccurrences(of: "\n", with: "\n" + indent))
            worst = max(worst, summary.exitCode)
        }
        Output.out("Synced the demo shop into \(databasePath):")
        await run("shop-customers")
        await run("shop-orders")
        let touched = await shop.book.touch(5)
        Output.out("\nThen \(touched.count) orders changed in the shop (\(touched.joined(separator: ", "))); the incremental re-run fetches only what changed since the saved cursor:")
        await run("shop-orders")
        if let push = project.job(named: "shipped-to-erp") {
            let pushed = await runner.push(push, trigger: .demo)
            let received = await shop.receiver.deliveries.count
            Output.out("\nThe push job 'shipped-to-erp' sent every shipped order to the shop's webhook receiver (\(received) request(s) arrived):")
            Output.out("  " + pushed.line.replacingOccurrences(of: "\n", with: "\n  "))
            worst = max(worst, pushed.exitCode)
        }
        await transport.shutdown()
        let relative = databasePath.hasPrefix(FileManager.default.currentDirectoryPath + "/")
            ? String(databasePath.dropFirst(FileManager.default.currentDirectoryPath.count + 1)) : databasePath
        Output.out("""

            Try next:
              sheetsync query --db \(relative) "SELECT status, count(*) AS orders, printf('%.2f', sum(total)) AS revenue FROM orders GROUP BY status ORDER BY orders DESC"
              sheetsync query --db \(relative) "SELECT o.number, o.customer_email, i.sku, i.quantity FROM orders o JOIN order_items i ON i.order_id = o.id LIMIT 10"
              sqlite3 \(relative) "SELECT job, status, inserted, updated, unchanged, rejected FROM _sheetsync_runs"
              sheetsync deliveries --db \(relative) shipped-to-erp
            Other pagination styles of the same shop: jobs/orders-by-cursor.yml (cursor) and jobs/orders-by-link.yml (Link header).
            (with 'swift run', write 'swift run sheetsync' for 'sheetsync'; 'sheetsync demo serve' keeps the shop running)
            """)
        if worst != 0 { throw ExitCode(worst) }
    }

    private func writeProject(to directory: URL, shopURL: String) throws {
        let fileManager = FileManager.default
        var files = DemoProject.files
        files["sheetsync.yml"] = DemoProject.settings(shopURL: shopURL)
        files[Self.marker] = "Written by `sheetsync demo`: it may write over this directory again.\n"
        for (path, text) in files {
            let url = directory.appendingPathComponent(path)
            try fileManager.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try text.write(to: url, atomically: true, encoding: .utf8)
        }
        // A fresh database each time.
        for suffix in ["", "-wal", "-shm"] {
            try? fileManager.removeItem(at: directory.appendingPathComponent("sheetsync.db" + suffix))
        }
    }

    /// `sheetsync demo serve`: keep the shop running for experiments.
    struct Serve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Run the demo shop until Ctrl-C, for experiments with your own jobs.")

        @Option(help: "Port on 127.0.0.1 (0: any free port).")
        var port = 8080

        @OptionGroup var shopOptions: DemoShopOptions

        @Option(name: .customLong("fail-rate"), help: "Share of webhook deliveries the receiver answers with 500 (0…1), to watch retries; one change is failed at most 3 times in a row.")
        var failRate = 0.0

        func run() async throws {
            let shop = DemoShop(.init(seed: shopOptions.seed, orders: shopOptions.orders), webhookFailureRate: failRate)
            let server = try await shop.start(port: port)
            Output.out("demo shop at \(server.baseURL); token: \(shop.data.configuration.token)")
            Output.out("  export SHOP_URL=\(server.baseURL) SHOP_TOKEN=\(shop.data.configuration.token)")
            Output.out("  curl -H 'Authorization: Bearer \(shop.data.configuration.token)' \(server.baseURL)/v1/orders?per_page=2")
            Output.out("Press Ctrl-C to stop.")
            // Ctrl-C ends the process (the default action); the shop keeps nothing on disk.
            await server.wait()
        }
    }
}

/// Options of the demo shop, shared by `demo` and `demo serve`.
struct DemoShopOptions: ParsableArguments {
    @Option(help: "Number of orders the shop generates.")
    var orders = 250

    @Option(help: "Seed for the shop's generated data.")
    var seed: UInt64 = 42
}
