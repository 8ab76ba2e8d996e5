import Foundation

/// What `sheetsync serve` was asked for, once its options are parsed and checked.
public struct DaemonConfiguration: Sendable {
    /// Where the HTTP endpoints listen.
    public struct Endpoint: Sendable {
        public var host: String
        public var port: Int

        public init(host: String, port: Int) {
            self.host = host
            self.port = port
        }

        /// The host as it goes in a URL (`[::1]` for an IPv6 address).
        public var urlHost: String { host.contains(":") ? "[\(host)]" : host }
    }

    /// The project folder, watched for changes to sheetsync.yml, schema/ and jobs/.
    public var projectDirectory: URL
    /// The database file; its `.lock` file says which daemon runs its schedule.
    public var databasePath: String
    /// nil for no HTTP endpoints (`--http off`).
    public var endpoint: Endpoint?
    /// Runs at once across all jobs.
    public var maxConcurrent: Int
    /// How long runs in flight may take to finish after a graceful shutdown.
    public var grace: Duration
    /// Wait for another daemon to release the database instead of refusing.
    public var standby: Bool
    /// Trap SIGTERM and SIGINT (graceful shutdown) and SIGHUP (reload). In-process
    /// tests turn it off and stop the daemon with `DaemonSession.shutdown()`.
    public var handlesSignals: Bool
    /// How often the project files are checked for changes.
    public var reloadInterval: Duration
    /// How often push jobs look for new deliveries.
    public var pushInterval: Duration
    /// How often the database is kept in order: runs whose process is gone marked
    /// interrupted, `retention:` applied (also once at start).
    public var maintenanceInterval: Duration

    public init(projectDirectory: URL, databasePath: String, endpoint: Endpoint?, maxConcurrent: Int = 4,
                grace: Duration = .seconds(30), standby: Bool = false, handlesSignals: Bool = true,
                reloadInterval: Duration = .seconds(2), pushInterval: Duration = .seconds(1), maintenanceInterval: Duration = .seconds(3600)) {
        self.projectDirectory = projectDirectory
        self.databasePath = databasePath
        self.endpoint = endpoint
        self.maxConcurrent = maxConcurrent
        self.grace = grace
        self.standby = standby
        self.handlesSignals = handlesSignals
        self.reloadInterval = reloadInterval
        self.pushInterval = pushInterval
        self.maintenanceInterval = maintenanceInterval
    }
}
