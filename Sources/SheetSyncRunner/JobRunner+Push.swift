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

/// The decision for one delivery, computed before anything is sent.
enum DeliveryPlan {
    case skip(String)
    case send(payload: [UInt8], hash: String, operation: String, record: [String: JSONValue])
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
        return summary
    }

    private func pushPass(_ job: JobDefinition, wait: Duration, dryRun: Bool, trigger: RunTrigger) async -> PushSummary {
        var summary = PushSummary(job: job.name)
        guard case .push(let push) = job.kind, let worksheet = project.worksheet(named: job.worksheet), let database else {
            summary.error = "'\(job.name)' is not a push job with a defined worksheet"
            return summary
        }
        do {
            try database.migrate(project.worksheets, captured: project.capturedWorksheets)
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
                summary.pending = try database.deliveries(job: job.name, state: "pending", limit: 1_000_000).count
                return summary
            }
            let run = try database.beginRun(job: job.name, trigger: trigger)
            // Recorded when this block is left; errors are caught inside it, so that the
            // run's record says the pass failed (a defer runs before an outer catch).
            defer {
                let status: RunStatus = summary.error != nil || summary.disabled != nil ? .failed : (summary.failed > 0 ? .partial : .succeeded)
                let details = JSONValue.object(JSONObject([
                    "delivered": .number(String(summary.delivered)), "failed": .number(String(summary.failed)),
                    "skipped": .number(String(summary.skipped)), "pending": .number(String(summary.pending)),
                ]))
                try? database.finishRun(run, status: status, counts: WriteCounts(), requests: summary.requests,
                                        errorCode: summary.disabled != nil ? "gone" : nil, errorMessage: summary.error ?? summary.disabled, details: details)
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

    /// Sends every due delivery of the job, a batch at a time; with `wait`, keeps going
    /// while retries come due within that time.
    private func deliverDue(_ job: JobDefinition, _ push: PushJob, worksheet: WorksheetDefinition, wait: Duration, run: Int64,
                            database: WorksheetDatabase, summary: inout PushSummary) async throws {
        let policy = DeliveryPolicy(push.delivery)
        let deadline = ContinuousClock.now + wait
        let (values, redactor) = try self.values(for: job, params: [:])
        let signer = try push.delivery.signingSecret.map { WebhookSigner(secret: try $0.renderText(values)) }
        loop: while true {
            let due = try database.dueDeliveries(job: job.name, now: WorksheetDatabase.timestamp(Date()), limit: 1000)
            if due.isEmpty {
                guard wait > .zero, let next = try database.nextDueTime(job: job.name) else { break }
                let remaining = deadline - ContinuousClock.now
                guard remaining > .zero else { break }
                let untilDue = Self.duration(until: next)
                guard untilDue <= remaining else { break }
                try await Task.sleep(for: max(.milliseconds(5), untilDue))
                continue
            }
            // A batch at a time: plan and freeze every delivery of the batch in one
            // transaction, send them with up to `concurrency` requests in flight, then
            // record every outcome in one transaction. `due` holds one delivery per
            // record, so each record's deliveries still go in order.
            let batchSize = push.delivery.concurrency * 8
            for start in stride(from: 0, to: due.count, by: batchSize) {
                let batch = Array(due[start..<min(start + batchSize, due.count)])
                let (sends, skipped) = try prepare(batch, job: job, push: push, worksheet: worksheet, values: values, database: database)
                // The ledger keeps payloads with their secrets sealed (SecretSeal).
                try database.beginAttempts(sends.map { DeliveryAttempt(id: $0.delivery.id, payload: $0.payload.text, seals: $0.payload.sealsJSON,
                                                                         request: $0.request?.text, requestSeals: $0.request?.sealsJSON,
                                                                         hash: $0.hash, operation: $0.operation) },
                                           skipped: skipped)
                summary.skipped += skipped.count
                let sent = await send(sends, job: job, push: push, policy: policy, values: values, redactor: redactor, signer: signer)
                var state: [String: String?] = [:]
                for outcome in sent {
                    summary.requests += outcome.requests.count
                    switch outcome.kind {
                    case .delivered: summary.delivered += 1
                    case .failed: summary.failed += 1
                    case .retrying, .notSent: break
                    case .gone(let reason):
                        summary.failed += 1
                        summary.disabled = reason
                        state[StateKey.disabled] = reason
                    }
                }
                try database.finishAttempts(sent.map(\.result), requests: sent.flatMap(\.requests), run: run, worksheet: worksheet,
                                            state: state, job: job.name)
                if summary.disabled != nil { break loop }
            }
        }
        summary.pending = try database.deliveries(job: job.name, state: "pending", limit: 1_000_000).count
        let readers = project.jobs.filter { if case .push = $0.kind { return $0.worksheet == job.worksheet } else { return false } }.map(\.name)
        try database.pruneOutbox(worksheet: job.worksheet, jobs: readers)
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

    /// A delivery ready to send: its frozen body (secrets sealed, as the ledger keeps it)
    /// and what it is. New and retried deliveries go the same way: unsealed when sent.
    struct PreparedDelivery: Sendable {
        var delivery: Delivery
        var payload: SealedText
        /// Method, URL and headers as first rendered (`PreparedRequest.frozenText`), sealed;
        /// nil for deliveries frozen before sheetsync kept them (rendered again when sent).
        var request: SealedText?
        var hash: String
        var operation: String
        var record: [String: JSONValue]
        /// Why this delivery cannot be sent at all (its stored seals are damaged).
        var unsendable: String?
    }

    /// How sending one delivery went; nothing is written until the whole batch is back.
    struct SentDelivery: Sendable {
        enum Kind: Sendable {
            case delivered, failed, retrying, notSent
            case gone(String)
        }
        var kind: Kind
        var result: DeliveryResult
        var requests: [RequestAttempt] = []
    }

    /// Plans a batch: retries keep their frozen payload; new deliveries are planned from
    /// the records' current state, read in one transaction.
    func prepare(_ batch: [Delivery], job: JobDefinition, push: PushJob, worksheet: WorksheetDefinition, values: TemplateValues,
                 database: WorksheetDatabase) throws -> (sends: [PreparedDelivery], skipped: [(id: Int64, reason: String)]) {
        let fresh = batch.filter { $0.payload == nil || $0.payloadHash == nil || $0.operation == nil }
        let inputs: [(record: (values: [String: SQLValue], matches: Bool)?, pushedHash: String?)]
        do {
            inputs = try database.pushInputs(job: job.name, worksheet: worksheet, recordKeys: fresh.map(\.recordKey), condition: push.when)
        } catch {
            // Almost always the job's SQL: say which job and which condition.
            let condition = push.when.map { " with its 'when' condition '\($0)'" } ?? ""
            throw StoreError(error.code, "Unable to read the records of push job '\(job.name)'\(condition) from worksheet '\(worksheet.name)', \(error.message). Fix the condition in jobs/\(job.name).yml (it is SQL over the worksheet's columns).")
        }
        var inputByID: [Int64: (record: (values: [String: SQLValue], matches: Bool)?, pushedHash: String?)] = [:]
        for (delivery, input) in zip(fresh, inputs) { inputByID[delivery.id] = input }
        var sends: [PreparedDelivery] = []
        var skipped: [(id: Int64, reason: String)] = []
        let builder = RequestBuilder(projectDirectory: project.directory, userAgent: project.settings.http.userAgent,
                                     defaultMaxResponseBytes: project.settings.http.maxResponseBytes)
        for delivery in batch {
            guard let input = inputByID[delivery.id] else {
                // A retry: the same bytes under the same id (secrets unsealed when sent).
                let frozen = delivery.payload ?? ""
                var record: [String: JSONValue] = [:]
                if let parsed = try? JSONReader.parse(frozen), case .object(let object) = parsed {
                    for member in object.members { record[member.key] = member.value }
                }
                var payload = SealedText(text: frozen)
                var request: SealedText?
                var unsendable: String?
                do {
                    payload = try SealedText(text: frozen, sealsJSON: delivery.payloadSeals)
                    request = try delivery.request.map { text throws(CoreError) in try SealedText(text: text, sealsJSON: delivery.requestSeals) }
                } catch {
                    // Damaged seals: fail it rather than guess which text is a secret.
                    unsendable = error.message
                }
                sends.append(PreparedDelivery(delivery: delivery, payload: payload, request: request, hash: delivery.payloadHash ?? "",
                                              operation: delivery.operation ?? delivery.firstOperation, record: record, unsendable: unsendable))
                continue
            }
            switch try plan(found: input.record, previous: input.pushedHash, recordKey: delivery.recordKey, firstOperation: delivery.firstOperation,
                            push: push, worksheet: worksheet, values: values) {
            case .skip(let reason): skipped.append((delivery.id, reason))
            case .send(let payload, let hash, let operation, let record):
                // Freeze the whole request now: retries send exactly what this renders.
                let sealed = SecretSeal.seal(String(decoding: payload, as: UTF8.self), secrets: values.secrets)
                var request: SealedText?
                var unsendable: String?
                switch render(push, record: record, values: values, builder: builder) {
                case .success(let rendered): request = SecretSeal.seal(rendered.frozenText, secrets: values.secrets)
                case .failure(let error): unsendable = Redactor(secrets: values.secrets.values).redact(error.message)
                }
                sends.append(PreparedDelivery(delivery: delivery, payload: sealed, request: request, hash: hash, operation: operation,
                                              record: record, unsendable: unsendable))
            }
        }
        return (sends, skipped)
    }

    /// Sends a batch with at most `delivery.concurrency` requests in flight.
    func send(_ sends: [PreparedDelivery], job: JobDefinition, push: PushJob, policy: DeliveryPolicy, values: TemplateValues,
              redactor: Redactor, signer: WebhookSigner?) async -> [SentDelivery] {
        let builder = RequestBuilder(projectDirectory: project.directory, userAgent: project.settings.http.userAgent,
                                     defaultMaxResponseBytes: project.settings.http.maxResponseBytes)
        return await withTaskGroup(of: (Int, SentDelivery).self) { group in
            var results = [SentDelivery?](repeating: nil, count: sends.count)
            var next = 0
            func start() {
                let index = next
                next += 1
                group.addTask {
                    (index, await self.send(sends[index], push: push, policy: policy, values: values, redactor: redactor, signer: signer, builder: builder))
                }
            }
            while next < min(push.delivery.concurrency, sends.count) { start() }
            var gone = false
            while let (index, result) = await group.next() {
                results[index] = result
                if case .gone = result.kind { gone = true }
                // After a 410 nothing more is sent; what is in flight finishes.
                if next < sends.count, !gone { start() }
            }
            return results.enumerated().map { index, result in
                result ?? SentDelivery(kind: .notSent, result: .notSent(id: sends[index].delivery.id))
            }
        }
    }

    func send(_ prepared: PreparedDelivery, push: PushJob, policy: DeliveryPolicy, values: TemplateValues, redactor: Redactor,
              signer: WebhookSigner?, builder: RequestBuilder) async -> SentDelivery {
        let delivery = prepared.delivery
        if let unsendable = prepared.unsendable {
            return SentDelivery(kind: .failed, result: .failed(id: delivery.id, status: nil, error: unsendable, nextAttempt: nil,
                                                               reason: "not sent: the stored request is unusable"))
        }
        var request: PreparedRequest
        do {
            if let frozen = prepared.request {
                // As frozen at the first attempt, secrets unsealed where sheetsync sealed them.
                var spec = push.request
                spec.retry = RetryPolicy(attempts: 1)
                request = try builder.rebuild(spec, frozenText: try SecretSeal.unseal(frozen, secrets: values.secrets))
            } else {
                // Frozen before requests were kept: render it from the payload's record.
                request = try render(push, record: prepared.record, values: values, builder: builder).get()
            }
        } catch {
            return SentDelivery(kind: .failed, result: .failed(id: delivery.id, status: nil, error: redactor.redact(Self.message(of: error, redactor: redactor)),
                                                               nextAttempt: nil, reason: "not sent: the request could not be made"))
        }
        let timestamp = Int64(Date().timeIntervalSince1970)
        // The frozen payload has its secrets sealed: put their values back where sheetsync
        // sealed them, and nowhere else (record data is never a template).
        switch Self.unseal(prepared.payload, secrets: values.secrets) {
        case .success(let payload): request.body = payload
        case .failure(let error):
            return SentDelivery(kind: .failed, result: .failed(id: delivery.id, status: nil, error: error.message, nextAttempt: nil,
                                                               reason: "not sent: a sealed secret has no value"))
        }
        let payloadBytes = request.body ?? []
        request.headers += [("Idempotency-Key", delivery.changeID), ("webhook-id", delivery.changeID),
                            ("webhook-timestamp", String(timestamp)), ("X-Sheetsync-Operation", prepared.operation)]
        if let signer {
            request.headers.append(("webhook-signature", signer.signature(id: delivery.changeID, timestamp: timestamp, body: payloadBytes)))
        }
        var exchange = await transport.send(request, redactor: redactor)
        // One request per delivery attempt: number it as the delivery's attempt.
        for index in exchange.attempts.indices { exchange.attempts[index].attempt = delivery.attempts + 1 }
        switch exchange.result {
        case .success(let response):
            var writeBack: [String: SQLValue] = [:]
            if !push.writeBack.isEmpty, prepared.operation != "delete", let document = try? JSONReader.parse((try? response.bodyBytes()) ?? []) {
                // A receiver's odd answer never undoes a delivery: values that do not convert are left out.
                writeBack = FieldMapper(checked: push.writeBack, in: project.worksheet(named: delivery.worksheet)).convertibleValues(from: document)
            }
            return SentDelivery(kind: .delivered, result: .delivered(delivery, status: response.status, hash: prepared.hash, writeBack: writeBack),
                                requests: exchange.attempts)
        case .failure(let error):
            if error.status == 410 {
                let reason = "the endpoint answered 410 Gone for change \(delivery.changeID): \(error.message)"
                return SentDelivery(kind: .gone(reason), result: .failed(id: delivery.id, status: 410, error: error.message, nextAttempt: nil,
                                                                             reason: "410 Gone: the job is disabled until 'sheetsync replay --failed'"),
                                    requests: exchange.attempts)
            }
            let attemptsDone = delivery.attempts + 1
            if let delay = policy.delay(afterAttempt: attemptsDone, retryAfter: error.retryAfter) {
                let next = Date().addingTimeInterval(Double(delay.components.seconds) + Double(delay.components.attoseconds) / 1e18)
                return SentDelivery(kind: .retrying, result: .failed(id: delivery.id, status: error.status, error: error.message,
                                                                     nextAttempt: WorksheetDatabase.timestamp(next)), requests: exchange.attempts)
            }
            return SentDelivery(kind: .failed, result: .failed(id: delivery.id, status: error.status, error: error.message, nextAttempt: nil),
                                requests: exchange.attempts)
        }
    }
}
