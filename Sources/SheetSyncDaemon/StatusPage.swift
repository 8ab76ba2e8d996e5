import Foundation
import SheetSyncCore
import SheetSyncFiles
import SheetSyncSchedule
import SheetSyncStore

/// The page at `/` of `sheetsync serve`: each job with its schedule, next and last run,
/// recent failures, and each push job's waiting, retrying and failed deliveries.
///
/// Server-rendered HTML with its style inline and no script or external asset (the
/// endpoints may be reached through a proxy with no internet behind it); it reloads itself
/// every 10 seconds. Everything that comes from jobs, APIs or the database — names, error
/// messages (a server's answer may hold `<script>`) — is escaped. One page with a table or
/// two did not justify a template library; `escape` is the one place text becomes HTML.
public enum StatusPage {
    public static let refreshSeconds = 10

    public static func render(daemon: Daemon, scheduler: JobScheduler, now: Date = Date()) async -> String {
        let upcoming = await scheduler.upcoming()
        return render(project: await daemon.project, database: daemon.database, upcoming: upcoming, now: now)
    }

    public static func render(project: Project, database: any WorksheetStore, upcoming: [String: Date], now: Date = Date()) -> String {
        // Each job's own last run (as /status reads it): a job that runs hourly beside jobs that
        // run every second has its last run far outside the recent ones.
        var lastRun: [String: RunRecord] = [:]
        for job in project.jobs { lastRun[job.name] = (try? database.runs(job: job.name, limit: 1))?.first }
        let runs = (try? database.runs(job: nil, limit: 500)) ?? []
        let failures = runs.filter { $0.status == "failed" || $0.status == "partial" || $0.status == "interrupted" }.prefix(10)
        var deliveries: [String: [String: Int]] = [:]
        for count in (try? database.deliveryCounts()) ?? [] { deliveries[count.job, default: [:]][count.state] = count.count }
        let retrying = (try? database.retryingCounts()) ?? [:]

        var html = """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8">
            <meta http-equiv="refresh" content="\(refreshSeconds)">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>sheetsync: \(project.jobs.count) job\(project.jobs.count == 1 ? "" : "s")</title>
            <style>
            body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5rem; color: #1d2125; }
            h1 { font-size: 1.3rem; margin: 0 0 .2rem; } h2 { font-size: 1.05rem; margin: 1.6rem 0 .4rem; }
            p.meta { color: #5e6c77; margin: 0 0 1rem; }
            table { border-collapse: collapse; width: 100%; } th, td { text-align: left; padding: .35rem .6rem; border-bottom: 1px solid #e3e7ea; vertical-align: top; }
            th { background: #f4f6f7; font-weight: 600; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
            .status { display: inline-block; padding: 0 .45rem; border-radius: .6rem; font-size: .85em; }
            .succeeded { background: #dff3e4; color: #1a6b32; } .partial, .interrupted, .skipped { background: #fff2cc; color: #7a5a00; }
            .failed { background: #fbe0e0; color: #9b1c1c; } .running { background: #dde9fb; color: #1d4f91; } .never { background: #eceff1; color: #5e6c77; }
            .error { color: #9b1c1c; max-width: 40rem; overflow-wrap: anywhere; }
            </style></head><body>
            <h1>sheetsync</h1>
            <p class="meta">\(escape(project.directory.path)) · database \(escape(database.location)) · \(escape(WorksheetDatabase.timestamp(now))) · reloads every \(refreshSeconds) s</p>
            <h2>Jobs</h2>
            <table id="jobs"><thead><tr><th>job</th><th>kind</th><th>worksheet</th><th>schedule</th><th>next run</th><th>last run</th><th>result</th><th>error</th></tr></thead><tbody>

            """
        for job in project.jobs {
            let isPush = job.kind.name == "push"
            let schedule = job.schedule ?? (isPush ? "continuous" : "-")
            let next = upcoming[job.name].map { WorksheetDatabase.timestamp($0) } ?? "-"
            var last = #"<span class="status never">never run</span>"#
            var result = ""
            var error = ""
            if let run = lastRun[job.name] {
                last = "<span class=\"status \(escape(cssClass(run.status)))\">\(escape(run.status))</span> \(escape(run.startedAt))"
                result = run.deliveriesText
                    ?? "\(run.inserted) inserted, \(run.updated) updated, \(run.unchanged) unchanged" + (run.rejected > 0 ? ", \(run.rejected) rejected" : "")
                error = run.errorText
            }
            html += "<tr data-job=\"\(escape(job.name))\"><td>\(escape(job.name))</td><td>\(escape(job.kind.name))</td><td>\(escape(job.worksheet))</td>"
            html += "<td>\(escape(schedule))</td><td>\(escape(next))</td><td>\(last)</td><td>\(escape(result))</td><td class=\"error\">\(escape(String(error.prefix(500))))</td></tr>\n"
        }
        html += "</tbody></table>\n"

        let pushJobs = project.jobs.filter { $0.kind.name == "push" }
        if !pushJobs.isEmpty {
            html += "<h2>Deliveries</h2>\n<table id=\"deliveries\"><thead><tr><th>push job</th><th>waiting</th><th>retrying</th><th>failed</th><th>delivered</th><th>skipped</th></tr></thead><tbody>\n"
            for job in pushJobs {
                let counts = deliveries[job.name] ?? [:]
                let waiting = (counts["pending"] ?? 0) - (retrying[job.name] ?? 0)
                html += "<tr data-job=\"\(escape(job.name))\"><td>\(escape(job.name))</td><td class=\"num\">\(waiting)</td><td class=\"num\">\(retrying[job.name] ?? 0)</td>"
                html += "<td class=\"num\">\(counts["failed"] ?? 0)</td><td class=\"num\">\(counts["delivered"] ?? 0)</td><td class=\"num\">\(counts["skipped"] ?? 0)</td></tr>\n"
            }
            html += "</tbody></table>\n"
        }

        html += "<h2>Recent failures</h2>\n"
        if failures.isEmpty {
            html += "<p id=\"failures\">None in the last \(runs.count) runs.</p>\n"
        } else {
            html += "<table id=\"failures\"><thead><tr><th>run</th><th>job</th><th>started</th><th>status</th><th>error</th></tr></thead><tbody>\n"
            for run in failures {
                let error = run.errorText
                html += "<tr><td class=\"num\">\(run.id)</td><td>\(escape(run.job))</td><td>\(escape(run.startedAt))</td>"
                html += "<td><span class=\"status \(escape(cssClass(run.status)))\">\(escape(run.status))</span></td><td class=\"error\">\(escape(String(error.prefix(500))))</td></tr>\n"
            }
            html += "</tbody></table>\n"
        }
        html += "<p class=\"meta\">JSON: <a href=\"/status\">/status</a> · metrics: <a href=\"/metrics\">/metrics</a> · <a href=\"/healthz\">/healthz</a></p>\n</body></html>\n"
        return html
    }

    static func cssClass(_ status: String) -> String {
        ["succeeded", "partial", "failed", "running", "skipped", "interrupted"].contains(status) ? status : "never"
    }

    /// Text as HTML: the five characters that could end an element or an attribute.
    public static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }
}
