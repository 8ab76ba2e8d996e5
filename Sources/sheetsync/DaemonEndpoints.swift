import Foundation
import Hummingbird
import NIOCore
import SheetSyncCore
import SheetSyncSchedule
import SheetSyncStore

/// `/healthz`, `/status` and `/metrics` of `sheetsync serve`.
enum DaemonEndpoints {
    static func router(daemon: Daemon, scheduler: JobScheduler) -> Router<BasicRequestContext> {
        let router = Router()
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
    static func metrics(daemon: Daemon, scheduler: JobScheduler) async -> String {
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

/// Each job's schedule, next run and last run: `/status` and `sheetsync status`.
enum StatusReport {
    static func make(daemon: Daemon, scheduler: JobScheduler) async -> JSONValue {
        let upcoming = await scheduler.upcoming()
        return make(project: await daemon.project, database: await daemon.database, upcoming: upcoming)
    }

    static func make(project: SheetSyncFiles.Project, database: WorksheetDatabase, upcoming: [String: Date]) -> JSONValue {
        .object(JSONObject(["jobs": .array(project.jobs.map { job in
            let last = (try? database.runs(job: job.name, limit: 1))?.first
            var members: [JSONObject.Member] = [
                .init(key: "name", value: .string(job.name)), .init(key: "kind", value: .string(job.kind.name)),
                .init(key: "worksheet", value: .string(job.worksheet)),
                .init(key: "schedule", value: job.schedule.map(JSONValue.string) ?? (job.kind.name == "push" ? .string("continuous") : .null)),
                .init(key: "next_run", value: upcoming[job.name].map { .string(WorksheetDatabase.timestamp($0)) } ?? .null),
            ]
            if let last {
                members.append(.init(key: "last_run", value: .object(JSONObject([
                    "id": .number(String(last.id)), "status": .string(last.status), "trigger": .string(last.trigger),
                    "started_at": .string(last.startedAt), "ended_at": last.endedAt.map(JSONValue.string) ?? .null,
                    "inserted": .number(String(last.inserted)), "updated": .number(String(last.updated)),
                    "error": last.errorMessage.map(JSONValue.string) ?? .null,
                ]))))
            } else {
                members.append(.init(key: "last_run", value: .null))
            }
            return .object(JSONObject(members))
        })]))
    }
}

import SheetSyncFiles
