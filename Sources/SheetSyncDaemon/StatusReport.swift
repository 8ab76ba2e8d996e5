import Foundation
import SheetSyncCore
import SheetSyncFiles
import SheetSyncSchedule
import SheetSyncStore

/// Each job's schedule, next run and last run: `/status` and `sheetsync status`.
public enum StatusReport {
    public static func make(daemon: Daemon, scheduler: JobScheduler) async -> JSONValue {
        let upcoming = await scheduler.upcoming()
        return make(project: await daemon.project, database: daemon.database, upcoming: upcoming)
    }

    /// `database` is nil when there is none yet: every job is then "never run".
    /// On a database several nodes share, `nodes` lists them: heartbeat age, alive or
    /// dead, and the jobs each runs.
    public static func make(project: SheetSyncFiles.Project, database: (any WorksheetStore)?, upcoming: [String: Date]) -> JSONValue {
        var members = [JSONObject.Member(key: "jobs", value: jobs(project: project, database: database, upcoming: upcoming))]
        if let database, database.sharesWork {
            members.append(.init(key: "nodes", value: .array(((try? database.nodes()) ?? []).map { node in
                .object(JSONObject([
                    "id": .string(node.id), "host": .string(node.host), "pid": .number(String(node.pid)),
                    "started_at": .string(node.startedAt), "heartbeat_at": .string(node.heartbeatAt),
                    "seconds_since_heartbeat": .number(String(format: "%.1f", node.secondsSinceHeartbeat)),
                    "alive": .bool(node.isAlive), "running": .array(node.running.map(JSONValue.string)),
                ]))
            })))
        }
        return .object(JSONObject(members))
    }

    static func jobs(project: SheetSyncFiles.Project, database: (any WorksheetStore)?, upcoming: [String: Date]) -> JSONValue {
        .array(project.jobs.map { job in
            let last = (try? database?.runs(job: job.name, limit: 1))?.first
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
                    "skipped": .number(String(last.skipped)),
                    "error": last.errorMessage.map(JSONValue.string) ?? .null,
                ]))))
            } else {
                members.append(.init(key: "last_run", value: .null))
            }
            return .object(JSONObject(members))
        })
    }
}
