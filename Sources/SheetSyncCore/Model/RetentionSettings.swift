/// How long sheetsync keeps its ledgers (`retention:` in sheetsync.yml); nil keeps them
/// forever. Applied by `sheetsync serve` (at start and hourly) and by `sheetsync prune`.
///
/// Undelivered deliveries (pending, failed) and the latest run of each job are never removed.
public struct RetentionSettings: Sendable, Hashable {
    /// `_sheetsync_requests`: one row per HTTP attempt, the fastest-growing ledger.
    public var requests: Duration?
    /// `_sheetsync_runs` (with the requests and step failures of a removed run).
    public var runs: Duration?
    /// `_sheetsync_rejects`.
    public var rejects: Duration?
    /// `_sheetsync_deliveries` that were delivered or skipped.
    public var deliveries: Duration?
    /// `_sheetsync_step_failures`.
    public var stepFailures: Duration?
    /// `_sheetsync_notifications` that were delivered or failed for good.
    public var notifications: Duration? = .seconds(90 * 86_400)

    public static let keys = ["requests", "runs", "rejects", "deliveries", "step_failures", "notifications"]

    public init(requests: Duration? = .seconds(30 * 86_400), runs: Duration? = .seconds(90 * 86_400),
                rejects: Duration? = .seconds(90 * 86_400), deliveries: Duration? = .seconds(90 * 86_400),
                stepFailures: Duration? = .seconds(90 * 86_400)) {
        self.requests = requests
        self.runs = runs
        self.rejects = rejects
        self.deliveries = deliveries
        self.stepFailures = stepFailures
    }

    /// The retention of the ledger named `key` (one of `keys`).
    public subscript(key: String) -> Duration? {
        get {
            switch key {
            case "requests": requests
            case "runs": runs
            case "rejects": rejects
            case "deliveries": deliveries
            case "notifications": notifications
            default: stepFailures
            }
        }
        set {
            switch key {
            case "requests": requests = newValue
            case "runs": runs = newValue
            case "rejects": rejects = newValue
            case "deliveries": deliveries = newValue
            case "notifications": notifications = newValue
            default: stepFailures = newValue
            }
        }
    }
}
