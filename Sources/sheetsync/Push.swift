import ArgumentParser
import Foundation
import SheetSyncCore
import SheetSyncDaemon
import SheetSyncRunner
import SheetSyncStore

/// `sheetsync push JOB`: delivers a push job's due changes now.
struct Push: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Deliver a push job's captured changes that are due now, and print a summary.",
        discussion: paragraphs("""
            Changes are captured by triggers from every writer of the database. Each change is delivered at
            least once with a stable id (Idempotency-Key, webhook-id); failures are retried on the job's schedule.
            --wait keeps delivering while retries come due within that time. Exit codes: 0 all delivered,
            2 some deliveries failed for good, 1 the job could not run (or its endpoint answered 410 Gone).
            """)
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The push job.")
    var job: String

    @Flag(name: .customLong("dry-run"), help: "Print what would be sent; send and change nothing.")
    var dryRun = false

    @Option(help: ArgumentHelp("Keep delivering retries that come due within this time (e.g. 30s). (default: 0s)", valueName: "duration"),
            transform: DurationArgument.parse)
    var wait = DurationArgument(.zero)

    @Flag(name: .customLong("drop-pending"),
          help: "Give up on every change waiting to be delivered (marked skipped, nothing sent), e.g. before changing the worksheet's key.")
    var dropPending = false

    func validate() throws {
        if dropPending, dryRun { throw ValidationError("--drop-pending and --dry-run cannot be used together") }
    }

    func run() async throws {
        let context = try JobContext(global: global, jobName: job)
        try await context.finish {
            guard case .push = context.job.kind else {
                Output.err("error: '\(job)' is a pull job; run it with 'sheetsync run \(job)'")
                throw ExitCode.failure
            }
            if dropPending {
                let dropped = try context.runner.dropPending(context.job)
                Output.out("\(job): \(dropped) pending deliver\(dropped == 1 ? "y" : "ies") dropped (marked skipped; 'sheetsync replay \(job) --since TIME' sends them again)")
                return
            }
            // On a database several `serve` nodes share, this pass is a node while it runs:
            // it heartbeats (taking over nothing), so the nodes leave the deliveries it has in
            // flight alone, and leaves when it is done.
            let shared = dryRun ? nil : context.runner.database.flatMap { $0.sharesWork ? $0 : nil }
            let beat = shared.map { Heartbeat(database: $0, interval: .seconds(NodeRecord.heartbeatSeconds), takingOver: false, logger: global.makeLogger()) }
            beat?.start()
            let summary = await context.runner.push(context.job, wait: wait.duration, dryRun: dryRun)
            if let beat, let shared {
                beat.stop()
                try? shared.leave()
            }
            if dryRun {
                Output.out("# dry run: nothing is sent or changed; \(summary.previews.count) request(s) would be sent")
                for preview in summary.previews {
                    Output.out("\n\(preview.method) \(preview.url)")
                    for header in preview.headers { Output.out("\(header.name): \(header.value)") }
                    if let body = preview.body { Output.out("\n" + body) }
                }
                if let error = summary.error { Output.err("error: \(error)") }
                if summary.exitCode == 1 { throw ExitCode.failure }
                return
            }
            Output.out(summary.line)
            if summary.exitCode != 0 { throw ExitCode(summary.exitCode) }
        }
    }
}

/// `sheetsync deliveries [JOB]`: the delivery ledger.
struct Deliveries: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List deliveries of push jobs: state, attempts, last status and error.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "Only this job's deliveries.")
    var job: String?

    @Option(help: "Only deliveries in this state: pending, delivered, failed, skipped.")
    var state: DeliveryState?

    @Option(help: "How many to show.")
    var limit = 50

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    func run() async throws {
        let project = try global.loadProject(blockingOn: { $0.file == "sheetsync.yml" })
        let database = try global.openStore(for: project)
        let list: [Delivery]
        do {
            list = try database.deliveries(job: job, state: state, limit: limit)
        } catch {
            Output.err("error: \(error.message)")
            throw ExitCode.failure
        }
        if json {
            Output.out(JSONValue.array(list.map { d in
                .object(JSONObject([
                    "id": .number(String(d.id)), "job": .string(d.job), "record_key": .string(d.recordKey), "change_id": .string(d.changeID),
                    "operation": d.operation.map { .string($0.rawValue) } ?? .null, "state": .string(d.state.rawValue),
                    "batch_id": d.batchID.map(JSONValue.string) ?? .null, "attempts": .number(String(d.attempts)),
                    "next_attempt_at": .string(d.nextAttemptAt), "last_status": d.lastStatus.map { .number(String($0)) } ?? .null,
                    "last_error": d.lastError.map(JSONValue.string) ?? .null, "reason": d.reason.map(JSONValue.string) ?? .null,
                    "created_at": .string(d.createdAt), "delivered_at": d.deliveredAt.map(JSONValue.string) ?? .null,
                ]))
            }).jsonText)
            return
        }
        if list.isEmpty {
            Output.err("No deliveries\(job.map { " of '\($0)'" } ?? "")\(state.map { " in state '\($0.rawValue)'" } ?? "").")
            return
        }
        let rows: [[String]] = list.map { d in
            let next = d.state == .pending ? d.nextAttemptAt : "-"
            let status = d.lastStatus.map(String.init) ?? "-"
            return [String(d.id), d.job, d.recordKey, d.changeID, d.state.rawValue, String(d.attempts), next, status, d.lastError ?? d.reason ?? ""]
        }
        Output.out(TextTable.render(header: ["id", "job", "key", "change id", "state", "attempts", "next attempt", "status", "error / reason"], rows: rows))
    }
}

/// `sheetsync replay JOB`: re-queues deliveries.
struct Replay: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Re-queue deliveries of a push job (same change id and payload), and re-enable a job stopped by 410 Gone.",
        discussion: "With no selector, the failed deliveries are re-queued. Then run 'sheetsync push JOB'."
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The push job.")
    var job: String

    @Option(help: "Re-queue the delivery with this change id.")
    var id: String?

    @Option(help: ArgumentHelp("Re-queue every delivery created since this ISO time (2024-03-01T00:00:00Z).", valueName: "time"),
            transform: TimestampArgument.parse)
    var since: TimestampArgument?

    @Flag(help: "Re-queue the failed deliveries.")
    var failed = false

    func run() async throws {
        let project = try global.loadProject(blockingOn: { $0.file == "sheetsync.yml" })
        let database = try global.openStore(for: project)
        do {
            let count = try database.replay(job: job, changeID: id, failedOnly: failed, since: since.map { WorksheetDatabase.timestamp(Date(timeIntervalSince1970: Double($0.instant.seconds))) })
            try database.saveState([StateKey.disabled: nil], job: job)
            Output.out("\(job): \(count) deliver\(count == 1 ? "y" : "ies") re-queued; run 'sheetsync push \(job)' to send")
        } catch {
            Output.err("error: \(error.message)")
            throw ExitCode.failure
        }
    }
}

extension DeliveryState: ExpressibleByArgument {}
