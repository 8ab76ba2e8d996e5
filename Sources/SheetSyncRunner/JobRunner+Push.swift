import Foundation
import Logging
import SheetSyncCore
import SheetSyncHTTP
import SheetSyncPush
import SheetSyncStore
import SheetSyncTransform

/// What a push pass did.
public struct PushSummary: Sendable {
    public var job: String
    /// The run recorded for the pass (nil when nothing was due and no run was recorded).
    public var run: Int64?
    public var delivered = 0
    public var failed = 0
    public var skipped = 0
    /// Deliveries still waiting for a retry.
    public var pending = 0
    public var requests = 0
    public var duration: Duration = .zero
    /// Set when the endpoint answered 410 Gone (or was already disabled).
    public var disabled: String?
    public var error: String?
    /// For dry runs: the requests that would be sent.
    public var previews: [RequestPreview] = []
    /// The last delivery that failed for good in this pass, and why.
    public var lastFailure: String?

    /// The run's `error_code`: `gone` (410), `push_error` (the pass could not run or
    /// stopped), `delivery_failed` (some deliveries failed for good), or nil.
    public var errorCode: String? {
        if disabled != nil { return "gone" }
        if error != nil { return "push_error" }
        return failed > 0 ? "delivery_failed" : nil
    }

    /// The run's `error_message`, naming the failure.
    public var errorMessage: String? {
        if let error { return error }
        if let disabled { return disabled }
        guard failed > 0 else { return nil }
        return "\(failed) deliver\(failed == 1 ? "y" : "ies") failed for good" + (lastFailure.map { "; the last: \($0)" } ?? "")
            + "; see 'sheetsync deliveries \(job) --state failed', then 'sheetsync replay \(job) --failed'"
    }

    public var exitCode: Int32 {
        if error != nil || disabled != nil { return 1 }
        return failed > 0 ? 2 : 0
    }

    public var line: String {
        let seconds = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        var text = "\(job): \(delivered) delivered, \(failed) failed, \(skipped) skipped, \(pending) waiting to retry (\(requests) request\(requests == 1 ? "" : "s") in \(String(format: "%.2f", seconds))s)"
        if let disabled { text += "\n  disabled: \(disabled)" }
        if let error { text += "\n  error: \(error)" }
        return text
    }
}

extension JobRunner {

    /// Delivers the push job's due changes: captures new changes from the outbox,
    /// then sends each due delivery (one per record at a time, in order, up to
    /// `delivery.concurrency` records at once). With `wait`, keeps going while
    /// retries come due within that time. No database transaction is open while a
    /// request is in flight: the attempt is recorded before sending and its outcome
    /// after, so a crash in between re-sends with the same id.
    public func push(_ job: JobDefinition, wait: Duration = .zero, dryRun: Bool = false, trigger: RunTrigger = .cli) async -> PushSummary {
        let started = ContinuousClock.now
        var summary = await pushPass(job, wait: wait, dryRun: dryRun, trigger: trigger)
        summary.duration = ContinuousClock.now - started
        if !dryRun {
            let status: RunStatus = summary.error != nil || summary.disabled != nil ? .failed : (summary.failed > 0 ? .partial : .succeeded)
            await notifyAfterRun(job, run: summary.run, status: status, errorMessage: summary.errorMessage)
        }
        return summary
    }

    private func pushPass(_ job: JobDefinition, wait: Duration, dryRun: Bool, trigger: RunTrigger) async -> PushSummary {
        var summary = PushSummary(job: job.name)
        guard case .push(let push) = job.kind, let worksheet = project.worksheet(named: job.worksheet), let database else {
            summary.error = "'\(job.name)' is not a push job with a defined worksheet"
            return summary
        }
        do {
            try database.migrate(project.worksheets, captured: project.capturedWorksheets, pushJobs: project.pushJobWorksheets)
            if let reason = try database.state(job: job.name)[StateKey.disabled] {
                summary.disabled = reason + " (run 'sheetsync replay \(job.name) --failed' once the endpoint is fixed)"
                return summary
            }
            if dryRun {
                summary.previews = try await previewPush(job, push, worksheet: worksheet, database: database)
                return summary
            }
            try database.ingestChanges(job: job.name, worksheet: job.worksheet)
            // Nothing due and nothing to wait for: no run to record (the daemon checks every second).
            if wait == .zero, try database.dueDeliveries(job: job.name, now: WorksheetDatabase.timestamp(Date()), limit: 1).isEmpty {
                summary.pending = try database.pendingCount(job: job.name)
                return summary
            }
            let run = try database.beginRun(job: job.name, trigger: trigger)
            summary.run = run
            // Recorded when this block is left; errors are caught inside it, so that the
            // run's record says the pass failed (a defer runs before an outer catch).
            defer {
                let status: RunStatus = summary.error != nil || summary.disabled != nil ? .failed : (summary.failed > 0 ? .partial : .succeeded)
                let details = JSONValue.object(JSONObject([
                    "delivered": .number(String(summary.delivered)), "failed": .number(String(summary.failed)),
                    "skipped": .number(String(summary.skipped)), "pending": .number(String(summary.pending)),
                ]))
                try? database.finishRun(run, status: status, counts: WriteCounts(), requests: summary.requests,
                                        errorCode: summary.errorCode, errorMessage: summary.errorMessage, details: details)
            }
            do {
                try await deliverDue(job, push, worksheet: worksheet, wait: wait, run: run, database: database, summary: &summary)
            } catch {
                summary.error = Self.message(of: error, redactor: redactor(for: job))
            }
        } catch {
            summary.error = Self.message(of: error, redactor: redactor(for: job))
        }
        return summary
    }

    /// Sends every due delivery of the job, a chunk at a time; with `wait`, keeps going
    /// while retries come due within that time.
    private func deliverDue(_ job: JobDefinition, _ push: PushJob, worksheet: WorksheetDefinition, wait: Duration, run: Int64,
                            database: any WorksheetStore, summary: inout PushSummary) async throws {
        let deadline = ContinuousClock.now + wait
        let (values, redactor) = try self.values(for: job, params: [:])
        var context = PushContext(job: job, planner: DeliveryPlanner(push: push, worksheet: worksheet), policy: DeliveryPolicy(push.delivery),
                                  values: values, redactor: redactor,
                                  signer: try push.delivery.signingSecret.map { WebhookSigner(secret: try $0.renderText(values)) },
                                  builder: RequestBuilder(projectDirectory: project.directory, userAgent: project.settings.http.userAgent,
                                                          defaultMaxResponseBytes: project.settings.http.maxResponseBytes))
        if context.requestIsShared {
            context.shared = render(context, record: [:]).map { SecretSeal.seal($0.frozenText, secrets: values.secrets) }
        }
        // Deliveries per chunk: each chunk is planned and frozen in one transaction, sent
        // with up to `concurrency` requests in flight, and its outcomes recorded in one.
        let chunkSize = push.delivery.concurrency * max(8, push.delivery.batchSize)
        // A pass that stopped mid-send left deliveries in flight, with no outcome. One unit
        // alone is charged its attempt: its answer may be what stops the process, and it must
        // not be retried forever. Several are sent again one unit at a time first, so that
        // another stop leaves exactly one in flight, and that one is charged.
        let interrupted = try database.interruptedUnits(job: job.name)
        if interrupted.count == 1 {
            try database.chargeInterrupted(interrupted[0].map(\.id))
        } else {
            for unit in interrupted where summary.disabled == nil && !Task.isCancelled {
                try await deliver([unit], context: context, run: run, database: database, summary: &summary)
            }
        }
        // Where the last read of due deliveries ended: the next read goes on from there (one
        // walk through a backlog, not a sort of it per chunk); nil starts again from the oldest.
        var after: Int64?
        // Cancelled (shutdown): stop taking work; what was cut short stays due for the next start.
        loop: while !Task.isCancelled {
            let due = try database.dueDeliveries(job: job.name, now: WorksheetDatabase.timestamp(Date()), limit: max(1000, chunkSize), after: after)
            if due.isEmpty, after != nil {
                // The end of the ledger: look again from its start, for retries come due and
                // deliveries queued behind one that was sent in this pass.
                after = nil
                continue
            }
            after = due.last?.id
            if due.isEmpty {
                guard wait > .zero, let next = try database.nextDueTime(job: job.name) else { break }
                let remaining = deadline - ContinuousClock.now
                guard remaining > .zero else { break }
                let untilDue = Self.duration(until: next)
                guard untilDue <= remaining else { break }
                try await Task.sleep(for: max(.milliseconds(5), untilDue))
                continue
            }
            // `due` holds one delivery per record, so each record's deliveries still go in
            // order; a batch frozen earlier goes out whole, with all its members.
            for chunk in try Self.units(of: due, database: database).chunked(deliveries: chunkSize) {
                try await deliver(chunk, context: context, run: run, database: database, summary: &summary)
                if summary.disabled != nil || Task.isCancelled { break loop }
            }
        }
        summary.pending = try database.pendingCount(job: job.name)
        let readers = project.jobs.filter { if case .push = $0.kind { return $0.worksheet == job.worksheet } else { return false } }.map(\.name)
        try database.pruneOutbox(worksheet: job.worksheet, jobs: readers)
    }

    /// Plans, freezes, sends and records one chunk of units (a frozen batch is one unit).
    private func deliver(_ chunk: [[Delivery]], context: PushContext, run: Int64, database: any WorksheetStore,
                         summary: inout PushSummary) async throws {
        let (job, worksheet) = (context.job, context.planner.worksheet)
        // A delivery whose attempts were all used (the last ones cut short by crashes mid-send)
        // fails now, without another request.
        let exhausted = chunk.joined().filter { $0.attempts >= context.policy.attempts }
        if !exhausted.isEmpty {
            try database.finishAttempts(exhausted.map(Self.exhausted), requests: [], run: run, worksheet: worksheet, job: job.name)
            summary.failed += exhausted.count
            if let last = exhausted.last, case .exhausted(let id, let error, let reason) = Self.exhausted(last) {
                summary.lastFailure = "delivery \(id): \(reason): \(error)"
            }
        }
        let live = chunk.joined().filter { $0.attempts < context.policy.attempts }
        guard !live.isEmpty else { return }
        let (sends, skipped) = try prepare(Array(live), context: context, database: database)
        let shipments = Self.shipments(sends, batchSize: context.push.delivery.batchSize)
        // The ledger keeps payloads and requests with their secrets sealed (SecretSeal).
        let claimed = try database.beginAttempts(shipments.flatMap { shipment in
            shipment.members.map { $0.attempt(batchID: shipment.batchID) }
        }, skipped: skipped)
        // On a database several nodes share, another node may have claimed some of these
        // first: not ours to send. A batch goes out whole or not at all; its members this
        // node did claim are released (no attempt counted) for the next pass.
        var mine: [Shipment] = []
        var released: [DeliveryResult] = []
        for shipment in shipments {
            let ids = shipment.members.map(\.delivery.id)
            if ids.allSatisfy(claimed.contains) {
                mine.append(shipment)
            } else {
                released += ids.filter(claimed.contains).map { DeliveryResult.notSent(id: $0) }
            }
        }
        if !released.isEmpty {
            try database.finishAttempts(released, requests: [], run: run, worksheet: worksheet, job: job.name)
        }
        summary.skipped += skipped.filter { claimed.contains($0.id) }.count
        let sent = await send(mine, context: context)
        var state: [String: String?] = [:]
        for outcome in sent {
            summary.requests += outcome.requests.count
            switch outcome.kind {
            case .delivered: summary.delivered += 1
            case .failed:
                summary.failed += 1
                if case .failed(let id, _, let error, nil, let reason) = outcome.result {
                    summary.lastFailure = "delivery \(id): \(reason): \(error)"
                }
            case .retrying, .notSent: break
            case .gone(let reason):
                summary.failed += 1
                summary.disabled = reason
                state[StateKey.disabled] = reason
            }
        }
        try database.finishAttempts(sent.map(\.result), requests: sent.flatMap(\.requests), run: run, worksheet: worksheet,
                                    state: state, job: job.name)
    }

    /// The outcome of a delivery whose every attempt was begun but none came back (the
    /// process stopped while they were in flight, for example killed by the answer).
    static func exhausted(_ delivery: Delivery) -> DeliveryResult {
        .exhausted(id: delivery.id, error: delivery.lastError ?? "no answer was recorded: the process stopped while the request was in flight",
                   reason: "attempts exhausted (\(delivery.attempts) made; the last cut short when the process stopped)")
    }

    /// Due deliveries as units that go out together: a batch frozen earlier (all its
    /// pending members, even those past `due`'s limit) or one delivery.
    static func units(of due: [Delivery], database: any WorksheetStore) throws(StoreError) -> [[Delivery]] {
        var units: [[Delivery]] = []
        var seen = Set<Int64>()
        for delivery in due where !seen.contains(delivery.id) {
            let unit = try delivery.batchID.map { id throws(StoreError) in try database.batchMembers(id) } ?? [delivery]
            seen.formUnion(unit.map(\.id))
            units.append(unit.isEmpty ? [delivery] : unit)
        }
        return units
    }

    /// Gives up on every change of the job waiting to be delivered (`push --drop-pending`).
    public func dropPending(_ job: JobDefinition) throws(StoreError) -> Int {
        guard let database else { return 0 }
        try database.migrate(project.worksheets, captured: project.capturedWorksheets, pushJobs: project.pushJobWorksheets)
        return try database.dropPending(job: job.name, worksheet: job.worksheet)
    }

    /// An error's message for a push summary and its run record, secrets masked.
    static func message(of error: any Error, redactor: Redactor) -> String {
        switch error {
        case let error as StoreError: redactor.redact(error.message)
        case let error as CoreError: redactor.redact(error.message)
        case let error as HTTPStepError: redactor.redact(error.message)
        default: redactor.redact("\(error)")
        }
    }
}

extension Array where Element == [Delivery] {
    /// Units grouped into chunks of about `deliveries` deliveries (a unit is never split).
    func chunked(deliveries limit: Int) -> [[[Delivery]]] {
        var chunks: [[[Delivery]]] = []
        var current: [[Delivery]] = []
        var count = 0
        for unit in self {
            if count > 0, count + unit.count > limit {
                chunks.append(current)
                current = []
                count = 0
            }
            current.append(unit)
            count += unit.count
        }
        if !current.isEmpty { chunks.append(current) }
        return chunks
    }
}
