import Foundation
import Hummingbird
import NIOCore
import SheetSyncCore
import SheetSyncSchedule
import SheetSyncStore

/// `/` (the status page), `/healthz`, `/status` and `/metrics` of `sheetsync serve`.
public enum DaemonEndpoints {
    public static func router(daemon: Daemon, scheduler: JobScheduler) -> Router<BasicRequestContext> {
        let router = Router()
        router.get("/") { _, _ -> Response in
            let page = await StatusPage.render(daemon: daemon, scheduler: scheduler)
            return Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"],
                            body: .init(byteBuffer: ByteBuffer(string: page)))
        }
        router.get("/healthz") { _, _ -> Response in
            Response(status: .ok, headers: [.contentType: "text/plain"], body: .init(byteBuffer: ByteBuffer(string: "ok\n")))
        }
        router.get("/status") { _, _ -> Response in
            let status = await StatusReport.make(daemon: daemon, scheduler: scheduler)
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: status.jsonText)))
        }
        router.get("/metrics") { _, _ -> Response in
            let text = await metrics(daemon: daemon, scheduler: scheduler)
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"], body: .init(byteBuffer: ByteBuffer(string: text)))
        }
        return router
    }

    /// Prometheus text exposition.
    public static func metrics(daemon: Daemon, scheduler: JobScheduler) async -> String {
        func label(_ value: String) -> String { value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") }
        var lines = ["# HELP sheetsync_up 1 while the daemon runs.", "# TYPE sheetsync_up gauge", "sheetsync_up 1"]
        lines += ["# HELP sheetsync_runs_total Runs since the daemon started, by job and status.", "# TYPE sheetsync_runs_total counter"]
        for (job, statuses) in await daemon.runCounts.sorted(by: { $0.key < $1.key }) {
            for (status, count) in statuses.sorted(by: { $0.key < $1.key }) {
                lines.append("sheetsync_runs_total{job=\"\(label(job))\",status=\"\(status)\"} \(count)")
            }
        }
        lines += ["# HELP sheetsync_rows_total Rows written since the daemon started, by job and outcome.", "# TYPE sheetsync_rows_total counter"]
        for (job, outcomes) in await daemon.rowCounts.sorted(by: { $0.key < $1.key }) {
            for (outcome, count) in outcomes.sorted(by: { $0.key < $1.key }) {
                lines.append("sheetsync_rows_total{job=\"\(label(job))\",outcome=\"\(outcome)\"} \(count)")
            }
        }
        let database = await daemon.database
        lines += ["# HELP sheetsync_request_duration_seconds HTTP requests recorded in the database, by job.", "# TYPE sheetsync_request_duration_seconds summary"]
        for stat in (try? database.requestStats()) ?? [] {
            lines.append("sheetsync_request_duration_seconds_sum{job=\"\(label(stat.job))\"} \(Double(stat.milliseconds) / 1000)")
            lines.append("sheetsync_request_duration_seconds_count{job=\"\(label(stat.job))\"} \(stat.count)")
        }
        lines += ["# HELP sheetsync_deliveries Deliveries of push jobs by state.", "# TYPE sheetsync_deliveries gauge"]
        for count in (try? database.deliveryCounts()) ?? [] {
            lines.append("sheetsync_deliveries{job=\"\(label(count.job))\",state=\"\(count.state)\"} \(count.count)")
        }
        let lateness = await scheduler.lateness.sorted()
        lines += ["# HELP sheetsync_scheduler_lateness_seconds How late scheduled runs started.", "# TYPE sheetsync_scheduler_lateness_seconds summary"]
        for quantile in [0.5, 0.9, 0.99] where !lateness.isEmpty {
            let value = lateness[min(lateness.count - 1, Int(Double(lateness.count) * quantile))]
            lines.append("sheetsync_scheduler_lateness_seconds{quantile=\"\(quantile)\"} \(value / 1000)")
        }
        lines.append("sheetsync_scheduler_lateness_seconds_count \(lateness.count)")
        return lines.joined(separator: "\n") + "\n"
    }
}
