import Foundation
import Synchronization
import Metrics
import Prometheus
import SheetSyncRunner
import SheetSyncStore

/// The daemon's metrics, recorded through swift-metrics' API into a Prometheus registry
/// of its own, and `/metrics` in Prometheus' text format.
///
/// The factory is passed to each metric rather than bootstrapped into `MetricsSystem`:
/// a process may run several daemons (the tests do), and the global system can be set
/// once. A user who wants another back end changes `factory` — the recording code is
/// swift-metrics' own `Counter` and `Timer`.
public final class DaemonMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    let factory: PrometheusMetricsFactory

    /// Seconds: runs take from milliseconds to hours; schedule lateness should stay well
    /// under a second.
    static let runBuckets: [Duration] = [.milliseconds(100), .milliseconds(500), .seconds(1), .seconds(5), .seconds(15), .seconds(60),
                                         .seconds(300), .seconds(900), .seconds(3600)]
    static let latenessBuckets: [Duration] = [.milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
                                              .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(5), .seconds(30)]

    public init() {
        registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets = ["sheetsync_run_duration_seconds": Self.runBuckets,
                                            "sheetsync_scheduler_lateness_seconds": Self.latenessBuckets]
        self.factory = factory
        Gauge(label: "sheetsync_up", factory: factory).record(1)
        // Present from the start, so a dashboard sees 0 rather than no series.
        _ = Timer(label: "sheetsync_scheduler_lateness_seconds", factory: factory)
    }

    /// A pull run that ended: its status, duration, records, rows by outcome and rejects.
    func runFinished(job: String, summary: RunSummary) {
        Counter(label: "sheetsync_runs_total", dimensions: [("job", job), ("status", summary.status.rawValue)], factory: factory).increment()
        Timer(label: "sheetsync_run_duration_seconds", dimensions: [("job", job)], factory: factory).recordInterval(summary.duration)
        Counter(label: "sheetsync_records_total", dimensions: [("job", job)], factory: factory).increment(by: summary.records)
        for (outcome, count) in [("inserted", summary.counts.inserted), ("updated", summary.counts.updated), ("unchanged", summary.counts.unchanged),
                                 ("skipped", summary.counts.skipped), ("rejected", summary.counts.rejectedTotal)] {
            Counter(label: "sheetsync_rows_total", dimensions: [("job", job), ("outcome", outcome)], factory: factory).increment(by: count)
        }
        Counter(label: "sheetsync_rejects_total", dimensions: [("job", job)], factory: factory).increment(by: summary.counts.rejectedTotal)
    }

    /// A scheduled tick skipped because the previous run was still going.
    func skipped(job: String) {
        Counter(label: "sheetsync_runs_total", dimensions: [("job", job), ("status", "skipped")], factory: factory).increment()
    }

    /// A push loop woke: because a change was captured (`change`) or its wait ran out (`timer`).
    func pushWakeup(cause: String) {
        Counter(label: "sheetsync_push_wakeups_total", dimensions: [("cause", cause)], factory: factory).increment()
    }

    /// How late a scheduled run started.
    func lateness(seconds: Double) {
        Timer(label: "sheetsync_scheduler_lateness_seconds", factory: factory).recordInterval(.nanoseconds(Int64(max(0, seconds) * 1e9)))
    }

    /// The text `/metrics` serves: what was recorded, and the ledgers' current numbers read
    /// from the database (deliveries by state, recorded requests by status).
    func exposition(database: any WorksheetStore) -> String {
        setGauges("sheetsync_deliveries", names: ["job", "state"], ((try? database.deliveryCounts()) ?? []).map { ([$0.job, $0.state], $0.count) })
        setGauges("sheetsync_requests", names: ["job", "status"], ((try? database.requestStatusCounts()) ?? []).map { ([$0.job, $0.status], $0.count) })
        return registry.emitToString()
    }

    /// Label sets each database-read gauge has been given, so that one the database no longer
    /// returns (no pending delivery left: its GROUP BY row is gone) reads 0 rather than its
    /// last value.
    private let gaugeLabels = Mutex<[String: Set<[String]>]>([:])

    private func setGauges(_ label: String, names: [String], _ values: [(labels: [String], count: Int)]) {
        let current = Set(values.map(\.labels))
        let gone = gaugeLabels.withLock { seen -> Set<[String]> in
            let stale = (seen[label] ?? []).subtracting(current)
            seen[label, default: []].formUnion(current)
            return stale
        }
        for labels in gone { Gauge(label: label, dimensions: Array(zip(names, labels)), factory: factory).record(0) }
        for (labels, count) in values { Gauge(label: label, dimensions: Array(zip(names, labels)), factory: factory).record(count) }
    }
}

extension Timer {
    func recordInterval(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        recordNanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
