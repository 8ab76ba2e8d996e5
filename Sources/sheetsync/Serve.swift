import ArgumentParser
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import SheetSyncCore
import SheetSyncFiles
import SheetSyncRunner
import SheetSyncSchedule
import SheetSyncStore

/// `sheetsync serve`: the scheduler daemon.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run every job on its schedule until SIGTERM/SIGINT, with /healthz, /metrics and /status on loopback.",
        discussion: """
            Pull jobs run on their 'schedule'; push jobs deliver continuously (checked every second).
            SIGTERM or SIGINT stops new work and gives runs in flight --grace to finish their current page;
            the exit code is then 0. jobs/, schema/ and sheetsync.yml are reloaded when they change (checked
            every 2 s) or on SIGHUP; a file with errors is reported and its previous version keeps running.
            Only one daemon runs a database's schedule: a second one refuses to start, or waits with --standby.
            The endpoints have no authentication: --http takes a loopback address (127.0.0.0/8, ::1, localhost)
            unless --allow-remote-http is given.
            """
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
        let path = global.databasePath(for: project)
        let database = try global.openDatabase(for: project)
        guard let lock = DatabaseLock(database: path, wait: false) ?? (standby ? waitForLock(path, logger: logger) : nil) else {
            Output.err("error: another 'sheetsync serve' (pid \(DatabaseLock.holder(of: path) ?? "?")) is running the schedule of \(path). Stop it first, or start this one with --standby to take over when it stops.")
            throw ExitCode.failure
        }
        do {
            try database.migrate(project.worksheets, captured: project.capturedWorksheets)
        } catch {
            Output.err("error: \(error.message)")
            throw ExitCode.failure
        }
        let transport = try JobRunner.makeTransport(for: project)
        let daemon = Daemon(project: project, database: database, transport: transport, logger: logger, maxConcurrent: maxConcurrent)
        let scheduler = JobScheduler(clock: WallClock(), delegate: daemon)
        await scheduler.update(await daemon.entries())

        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        if let address {
            let app = Application(router: DaemonEndpoints.router(daemon: daemon, scheduler: scheduler),
                                  configuration: .init(address: .hostname(address.host, port: address.port)),
                                  onServerRunning: { channel in
                                      let port = channel.localAddress?.port ?? 0
                                      logger.info("HTTP endpoints ready", metadata: ["url": "http://\(address.urlHost):\(port)"])
                                      Output.err("sheetsync serve: endpoints at http://\(address.urlHost):\(port)/healthz, /status, /metrics")
                                  },
                                  logger: logger)
            services.append(.init(service: app, successTerminationBehavior: .gracefullyShutdownGroup))
        }
        let watcher = ProjectWatcher(directory: global.projectURL, daemon: daemon, scheduler: scheduler, database: database, logger: logger)
        services.append(.init(service: watcher, successTerminationBehavior: .gracefullyShutdownGroup))
        services.append(.init(service: PushLoop(daemon: daemon), successTerminationBehavior: .gracefullyShutdownGroup))
        services.append(.init(service: SchedulerService(scheduler: scheduler, grace: grace.duration, logger: logger),
                              successTerminationBehavior: .gracefullyShutdownGroup))
        let group = ServiceGroup(configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        logger.info("serving", metadata: ["database": "\(path)", "jobs": "\(project.jobs.count)", "pid": "\(getpid())"])
        var failure: (any Error)?
        do {
            try await group.run()
        } catch {
            failure = error
        }
        await transport.shutdown()
        withExtendedLifetime(lock) {}
        if let failure {
            logger.error("stopped after an error: \(failure)")
            throw ExitCode.failure
        }
        logger.info("stopped")
    }

    private func waitForLock(_ path: String, logger: Logger) -> DatabaseLock? {
        logger.notice("standing by: another daemon holds \(path)")
        return DatabaseLock(database: path, wait: true)
    }
}

/// Runs the scheduler until graceful shutdown, then lets runs in flight finish.
struct SchedulerService: Service {
    let scheduler: JobScheduler
    let grace: Duration
    let logger: Logger

    func run() async throws {
        let loop = Task { await scheduler.run() }
        try? await gracefulShutdown()
        logger.info("stopping: no new runs; waiting up to \(DurationText.format(grace)) for runs in flight")
        await scheduler.stop(grace: grace)
        loop.cancel()
        await loop.value
    }
}

/// Delivers push jobs' changes every second until shutdown.
struct PushLoop: Service {
    let daemon: Daemon

    func run() async throws {
        // Returns (not throws) on shutdown: a throwing service would cancel the whole group.
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await daemon.pushAll()
                try await Task.sleep(for: .seconds(1))
            }
        }
    }
}

/// Reloads the project when its files change (polled every 2 s) or on SIGHUP.
struct ProjectWatcher: Service {
    let directory: URL
    let daemon: Daemon
    let scheduler: JobScheduler
    let database: WorksheetDatabase
    let logger: Logger

    func fingerprint() -> String {
        var parts: [String] = []
        for folder in ["", "jobs", "schema"] {
            let url = directory.appendingPathComponent(folder)
            let names = (try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? []
            for name in names.sorted() where name.hasSuffix(".yml") || name.hasSuffix(".yaml") {
                let attributes = try? FileManager.default.attributesOfItem(atPath: url.appendingPathComponent(name).path)
                let modified = (attributes?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
                parts.append("\(folder)/\(name):\(modified):\(attributes?[.size] ?? 0)")
            }
        }
        return parts.joined(separator: "|")
    }

    func run() async throws {
        let hangups = AsyncStream<Void> { continuation in
            signal(SIGHUP, SIG_IGN)
            nonisolated(unsafe) let source = DispatchSource.makeSignalSource(signal: SIGHUP)
            source.setEventHandler { continuation.yield() }
            source.resume()
            continuation.onTermination = { _ in source.cancel() }
        }
        let hangupFlag = HangupFlag()
        let listener = Task { for await _ in hangups { await hangupFlag.set() } }
        defer { listener.cancel() }
        let initial = fingerprint()
        try? await cancelWhenGracefulShutdown {
            var last = initial
            while !Task.isCancelled {
                try await Task.sleep(for: .seconds(2))
                let current = fingerprint()
                let hangup = await hangupFlag.take()
                guard current != last || hangup else { continue }
                last = current
                await reload(reason: hangup ? "SIGHUP" : "files changed")
            }
        }
    }

    func reload(reason: String) async {
        let loaded = ProjectLoader.load(directory: directory)
        for diagnostic in loaded.errors { logger.error("\(diagnostic.description)") }
        let kept = await daemon.replace(with: loaded)
        let project = await daemon.project
        do {
            try database.migrate(project.worksheets, captured: project.capturedWorksheets)
        } catch {
            logger.error("schema not applied: \(error.message)")
        }
        await scheduler.update(await daemon.entries())
        logger.info("reloaded", metadata: ["reason": "\(reason)", "jobs": "\(project.jobs.count)",
                                           "kept_previous": "\(kept.joined(separator: ","))"])
    }
}

actor HangupFlag {
    private var raised = false
    func set() { raised = true }
    func take() -> Bool {
        defer { raised = false }
        return raised
    }
}
