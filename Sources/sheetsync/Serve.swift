import ArgumentParser
import Foundation
import SheetSyncCore
import SheetSyncDaemon
import SheetSyncFiles

/// `sheetsync serve`: the scheduler daemon.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run every job on its schedule until SIGTERM/SIGINT, with a status page at / and /healthz, /metrics, /status on loopback.",
        discussion: paragraphs("""
            Pull jobs run on their 'schedule'; push jobs deliver continuously (checked every second).
            SIGTERM or SIGINT stops new work: runs in flight stop after the page being written (recorded
            'interrupted'; the next run resumes there), within --grace, after which they are cut short;
            the exit code is then 0. A second SIGTERM or SIGINT stops at once (exit code 143 or 130). jobs/, schema/ and sheetsync.yml are reloaded when they change (checked
            every 2 s) or on SIGHUP; a file with errors is reported and its previous version keeps running.
            Only one daemon runs a database's schedule: a second one refuses to start, or waits with --standby.
            The endpoints have no authentication: --http takes a loopback address (127.0.0.0/8, ::1, localhost)
            unless --allow-remote-http is given.
            """)
    )

    @OptionGroup var global: GlobalOptions

    @Option(help: ArgumentHelp("Address of the HTTP endpoints (host:port, [::1]:port; 'off' for none). Loopback only, unless --allow-remote-http. (default: 127.0.0.1:9410)", valueName: "host:port"),
            transform: HTTPListenArgument.parse)
    var http = HTTPListenArgument.standard

    @Flag(name: .customLong("allow-remote-http"),
          help: "Let --http listen on an address other than loopback. The endpoints have no authentication.")
    var allowRemoteHTTP = false

    @Option(name: .customLong("max-concurrent"), help: "Runs at once across all jobs.")
    var maxConcurrent = 4

    @Option(help: ArgumentHelp("How long runs in flight may take to finish after SIGTERM. (default: 30s)", valueName: "duration"),
            transform: DurationArgument.parse)
    var grace = DurationArgument(.seconds(30))

    @Flag(help: "If another daemon holds the database, wait for it to stop instead of refusing.")
    var standby = false

    /// The endpoints have no authentication: listening beyond loopback must be asked for.
    func validate() throws {
        guard let address = http.address else { return }
        if !address.isLoopback, !allowRemoteHTTP {
            throw ValidationError("""
                Unable to serve the HTTP endpoints on '\(http)', '\(address.host)' is not a loopback address and \
                /healthz, /status and /metrics have no authentication. Use 127.0.0.1, ::1 or localhost, \
                or pass --allow-remote-http to listen there anyway.
                """)
        }
    }

    func run() async throws {
        let logger = global.makeLogger(label: "sheetsync.serve")
        let address = http.address
        if let address, !address.isLoopback {
            Output.err("""
                warning: --allow-remote-http: the HTTP endpoints on '\(http)' have no authentication; anyone who can \
                reach this address can read /healthz, /status and /metrics (job names, schedules, run errors). \
                Let only trusted networks reach it (a firewall, or a proxy that authenticates).
                """)
        }
        let project = try global.loadProject(blockingOn: isSchemaProblem)
        let database = try global.openStore(for: project)
        // The file the daemon locks; on PostgreSQL, where several nodes share the work, the URL (shown only).
        let path = database.sharesWork ? database.location : global.databasePath(for: project)
        let configuration = DaemonConfiguration(
            projectDirectory: global.projectURL, databasePath: path,
            endpoint: address.map { DaemonConfiguration.Endpoint(host: $0.host, port: $0.port) },
            maxConcurrent: maxConcurrent, grace: grace.duration, standby: standby)
        let session: DaemonSession
        do {
            session = try await DaemonSession(project: project, database: database, configuration: configuration, logger: logger) { url in
                Output.err("sheetsync serve: endpoints at \(url)/healthz, /status, /metrics; the status page at \(url)/")
            }
        } catch let error as DaemonError {
            Output.err("error: \(error.message)")
            throw ExitCode.failure
        }
        let outcome: Result<Void, any Error>
        do {
            try await session.run()
            outcome = .success(())
        } catch {
            outcome = .failure(error)
        }
        // A second SIGINT or SIGTERM exits at once; otherwise the database is closed here, so
        // that its log is copied into the file and removed (the file alone holds every run).
        if session.forcedBy == nil {
            do {
                try database.close()
            } catch {
                Output.err("warning: \(error.message); the database's -wal file holds its last writes, keep it beside the file")
            }
        }
        if case .failure = outcome { throw ExitCode.failure }  // already logged by the session
        // A second SIGINT or SIGTERM: 130 or 143, as the shell reports a process it ended.
        if let signal = session.forcedBy { throw ExitCode(128 + signal) }
    }
}
