import ArgumentParser
import Foundation
import SheetSyncCore
import SheetSyncDaemon
import SheetSyncStore

/// `sheetsync status`: each job's schedule, next run and last run, from the database.
struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show each job's schedule, next run and last run (with or without a daemon running).")

    @OptionGroup var global: GlobalOptions

    @Flag(help: "Print JSON (the same as the daemon's /status).")
    var json = false

    func run() async throws {
        let project = try global.loadProject(blockingOn: { $0.file == "sheetsync.yml" })
        // Looking does not create: without a database every job is shown as never run.
        let path = global.databasePath(for: project)
        let database = global.databaseExists(for: project) ? try global.openStore(for: project) : nil
        if database == nil { Output.err("no database yet at \(path): no job has run") }
        let zone = project.settings.timezone.flatMap(TimeZone.init(identifier:)) ?? TimeZone(identifier: "UTC")!
        var upcoming: [String: Date] = [:]
        for job in project.jobs {
            guard let text = job.schedule, let cron = try? CronExpression(parsing: text) else { continue }
            upcoming[job.name] = cron.nextDate(after: Date(), in: job.timezone.flatMap(TimeZone.init(identifier:)) ?? zone)
        }
        let report = StatusReport.make(project: project, database: database, upcoming: upcoming)
        if json {
            Output.out(report.jsonText)
            return
        }
        guard case .array(let jobs)? = report["jobs"] else { return }
        func text(_ value: JSONValue?) -> String {
            switch value {
            case .string(let s)?: s
            case .number(let n)?: n
            default: "-"
            }
        }
        Output.out(TextTable.render(header: ["job", "kind", "schedule", "next run", "last run", "last status", "error"], rows: jobs.map { job in
            [text(job["name"]), text(job["kind"]), text(job["schedule"]), text(job["next_run"]),
             text(job["last_run"]?["started_at"]), text(job["last_run"]?["status"]), text(job["last_run"]?["error"])]
        }))
        if let database, database.sharesWork {
            // Several nodes share a PostgreSQL database: each one's heartbeat and what it runs.
            let nodes = (try? database.nodes()) ?? []
            if nodes.isEmpty {
                Output.err("no daemon (node) is running this database's schedule")
            } else {
                Output.out("")
                Output.out(TextTable.render(header: ["node (host)", "pid", "started", "last heartbeat", "state", "running"], rows: nodes.map { node in
                    [node.host, String(node.pid), node.startedAt,
                     String(format: "%.0f s ago", node.secondsSinceHeartbeat), node.isAlive ? "alive" : "dead", node.running.joined(separator: ", ")]
                }))
            }
            return
        }
        // The lock is tried, not the pid in its file believed: a killed daemon leaves the file behind.
        if let holder = DatabaseLock.holder(of: global.databasePath(for: project)) {
            Output.err("a daemon (pid \(holder)) is running this database's schedule")
        } else {
            Output.err("no daemon is running this database's schedule")
        }
    }
}
