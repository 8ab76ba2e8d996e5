import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import SheetSyncFiles
import SheetSyncHTTP
import SheetSyncRunner
import SheetSyncSchedule
import SheetSyncStore
import UnixSignals

/// One `sheetsync serve`, built once with everything it needs: the database's lock,
/// the migrated schema, one HTTP transport, the shared `Daemon` state, the scheduler,
/// and the services (endpoints, reloader, push loop, scheduler) in one `ServiceGroup`.
///
/// `run()` returns after a graceful shutdown: SIGTERM or SIGINT when the session
/// handles signals, or `shutdown()`. A second SIGTERM or SIGINT (`stopNow()`) cuts runs in
/// flight short at once instead of waiting out the grace period.
public final class DaemonSession: Sendable {
    public let daemon: Daemon
    public let scheduler: JobScheduler
    private let group: ServiceGroup
    private let transport: HTTPTransport
    /// The SQLite file's daemon lock; nil on a database several nodes share.
    private let lock: DatabaseLock?
    private let logger: Logger
    /// SIGTERM and SIGINT, trapped before anything runs; nil when the session leaves signals alone.
    private let stopSignals: UnixSignalsSequence?
    private let forced = ForcedStop()
    /// Where the HTTP endpoints listen, if they do.
    private let endpoint: DaemonConfiguration.Endpoint?

    /// The number of the signal that stopped the daemon at once (a second SIGTERM or SIGINT),
    /// if one did: `sheetsync serve` then exits with 128 + it, as a process it killed would.
    public var forcedBy: Int32? { forced.signal?.rawValue }

    /// Takes the lock, applies the schema and builds the services; nothing runs yet.
    ///
    /// - Parameter onEndpointsReady: called with the endpoints' base URL
    ///   (`http://127.0.0.1:PORT`) once they accept connections.
    public init(project: Project, database: any WorksheetStore, configuration: DaemonConfiguration, logger: Logger,
                onEndpointsReady: @escaping @Sendable (String) -> Void = { _ in }) async throws {
        let path = configuration.databasePath
        let lock: DatabaseLock?
        if database.sharesWork {
            // Several nodes share a PostgreSQL database's work (`SharedWork`): no file lock.
            lock = nil
            do {
                _ = try database.heartbeat(takingOver: true)
            } catch {
                throw DaemonError(.schema, "cannot join the nodes of \(database.location): \(error.message)", underlying: error)
            }
        } else {
            guard let taken = DatabaseLock(database: path, wait: false) ?? (configuration.standby ? Self.waitForLock(path, logger: logger) : nil) else {
                throw DaemonError(.locked, "another 'sheetsync serve' (pid \(DatabaseLock.holder(of: path) ?? "?")) is running the schedule of \(path). Stop it first, or start this one with --standby to take over when it stops.")
            }
            lock = taken
        }
        do {
            try database.migrate(project.worksheets, captured: project.capturedWorksheets, pushJobs: project.pushJobWorksheets)
        } catch {
            throw DaemonError(.schema, error.message, underlying: error)
        }
        let transport = try JobRunner.makeTransport(for: project)
        let daemon = Daemon(project: project, database: database, transport: transport, logger: logger, maxConcurrent: configuration.maxConcurrent)
        let scheduler = JobScheduler(clock: WallClock(), delegate: daemon, anchor: database.sharesWork ? Date(timeIntervalSince1970: 0) : nil)
        await scheduler.update(await daemon.entries())

        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        if let endpoint = configuration.endpoint {
            let app = Application(router: DaemonEndpoints.router(daemon: daemon, scheduler: scheduler),
                                  configuration: .init(address: .hostname(endpoint.host, port: endpoint.port)),
                                  onServerRunning: { channel in
                                      let url = "http://\(endpoint.urlHost):\(channel.localAddress?.port ?? 0)"
                                      logger.info("HTTP endpoints ready", metadata: ["url": "\(url)"])
                                      onEndpointsReady(url)
                                  },
                                  logger: logger)
            services.append(.init(service: app, successTerminationBehavior: .gracefullyShutdownGroup))
        }
        // Trapped now, before any service runs, so a SIGHUP sent early is not fatal.
        let hangups = configuration.handlesSignals ? await UnixSignalsSequence(trapping: .sighup) : nil
        let stopSignals = configuration.handlesSignals ? await UnixSignalsSequence(trapping: .sigterm, .sigint) : nil
        let clock = ContinuousClock()
        let watcher = ProjectWatcher(directory: configuration.projectDirectory, daemon: daemon, scheduler: scheduler, database: database,
                                     logger: logger, interval: configuration.reloadInterval, clock: clock, hangups: hangups)
        services.append(.init(service: watcher, successTerminationBehavior: .gracefullyShutdownGroup))
        services.append(.init(service: PushLoop(daemon: daemon, interval: configuration.pushInterval, clock: clock),
                              successTerminationBehavior: .gracefullyShutdownGroup))
        if database.sharesWork {
            services.append(.init(service: ListenService(daemon: daemon, logger: logger), successTerminationBehavior: .gracefullyShutdownGroup))
            services.append(.init(service: NodeService(daemon: daemon, interval: .seconds(NodeRecord.heartbeatSeconds), clock: clock, logger: logger),
                                  successTerminationBehavior: .gracefullyShutdownGroup))
        }
        services.append(.init(service: MaintenanceService(daemon: daemon, interval: configuration.maintenanceInterval, clock: clock, logger: logger),
                              successTerminationBehavior: .gracefullyShutdownGroup))
        services.append(.init(service: SchedulerService(scheduler: scheduler, stop: daemon.stopRequest, grace: configuration.grace, logger: logger),
                              successTerminationBehavior: .gracefullyShutdownGroup))
        // SIGTERM and SIGINT are watched by `run()`, not the group: the group ignores a second one.
        let group = ServiceGroup(configuration: .init(services: services, logger: logger))
        self.group = group
        self.stopSignals = stopSignals
        await daemon.setFailureHandler { [group] in await group.triggerGracefulShutdown() }
        self.daemon = daemon
        self.scheduler = scheduler
        self.transport = transport
        self.lock = lock
        self.logger = logger
        self.endpoint = configuration.endpoint
        logger.info("serving", metadata: ["database": "\(path)", "jobs": "\(project.jobs.count)", "pid": "\(getpid())"])
    }

    /// Runs the services until a graceful shutdown, then shuts the transport down and
    /// releases the database's lock (a daemon on standby takes over from here).
    /// Throws (after logging it) the error that stopped a service.
    public func run() async throws {
        let watcher = Task { [self] in
            guard let stopSignals else { return }
            var received = 0
            for await signal in stopSignals {
                received += 1
                if received == 1 {
                    logger.notice("\(signal): stopping; runs in flight stop after the page being written (send it again to stop at once)")
                    await shutdown()
                } else {
                    await stopNow(signal)
                }
            }
        }
        defer { watcher.cancel() }
        var failure: (any Error)?
        do {
            try await group.run()
        } catch {
            failure = error
        }
        if failure == nil { failure = await daemon.failure }
        if let error = failure as? IOError, error.errnoCode == EADDRINUSE, let endpoint {
            failure = DaemonError(.address, "cannot serve the HTTP endpoints on \(endpoint.host):\(endpoint.port): the address is already in use (another 'sheetsync serve', or another program). Choose another with --http host:port, or turn them off with --http off.", underlying: error)
        }
        await transport.shutdown()
        lock?.release()
        if lock == nil { try? daemon.database.leave() }
        if let failure {
            logger.error("stopped after an error: \(failure)")
            throw failure
        }
        logger.info("stopped")
    }

    /// Stops new work and lets runs in flight finish the page being written (within the
    /// grace period), as SIGTERM does.
    public func shutdown() async {
        daemon.stopRequest.request()
        await group.triggerGracefulShutdown()
    }

    /// Stops at once, as a second SIGTERM or SIGINT does: runs in flight are cut short (and
    /// recorded `interrupted`), push requests in flight too (their attempts given back). Should
    /// anything still hold the process 5 s later, it exits without waiting for it.
    public func stopNow(_ signal: UnixSignal? = nil) async {
        if let signal { forced.signal = signal }
        logger.warning("stopping now: runs in flight are cut short and recorded interrupted")
        await shutdown()
        await scheduler.cancelRuns()
        guard let signal else { return }
        Task.detached {
            try? await Task.sleep(for: .seconds(5))
            _exit(128 + signal.rawValue)
        }
    }

    private static func waitForLock(_ path: String, logger: Logger) -> DatabaseLock? {
        logger.notice("standing by: another daemon holds \(path)")
        return DatabaseLock(database: path, wait: true)
    }
}

/// The signal that stopped a session at once, set once from the signal watcher.
final class ForcedStop: @unchecked Sendable {
    private let lock = NSLock()
    private var value: UnixSignal?

    var signal: UnixSignal? {
        get { lock.withLock { value } }
        set { lock.withLock { value = newValue } }
    }
}
