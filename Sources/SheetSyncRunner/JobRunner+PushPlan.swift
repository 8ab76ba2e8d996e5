import Foundation
import Logging
import SheetSyncCore
import SheetSyncHTTP
import SheetSyncPush
import SheetSyncStore
import SheetSyncTransform

/// What every delivery of one push pass shares.
struct PushContext: Sendable {
    var job: JobDefinition
    var planner: DeliveryPlanner
    var policy: DeliveryPolicy
    var values: TemplateValues
    var redactor: Redactor
    var signer: WebhookSigner?
    var builder: RequestBuilder
    /// The frozen request (sealed) when the URL, query and headers use no `{{record.…}}`:
    /// rendered once per pass instead of once per delivery; nil when they do.
    var shared: Result<SealedText, HTTPStepError>?

    var push: PushJob { planner.push }

    /// Whether the request outside the body is the same for every record.
    var requestIsShared: Bool {
        let request = push.request
        let outsideBody = [request.url] + request.query.map(\.value) + request.headers.map(\.value)
        return !outsideBody.contains { $0.references.contains { $0.source == .record } }
    }
}

/// A delivery ready to send: its frozen body and request (secrets sealed, as the ledger
/// keeps them) and what it is. New and retried deliveries go the same way: unsealed when sent.
struct PreparedDelivery: Sendable {
    var delivery: Delivery
    var payload: SealedText
    /// Method, URL and headers as first rendered (`PreparedRequest.frozenText`), sealed;
    /// nil for deliveries frozen before sheetsync kept them (rendered again when sent).
    var request: SealedText?
    var hash: String
    var operation: PushJob.Operation
    var record: [String: JSONValue]
    /// Why this delivery cannot be sent at all (its stored seals are damaged, or its request cannot be made).
    var unsendable: String?

    /// What `beginAttempts` freezes for it.
    func attempt(batchID: String?) -> DeliveryAttempt {
        DeliveryAttempt(id: delivery.id, payload: payload.text, seals: payload.sealsJSON, request: request?.text,
                        requestSeals: request?.sealsJSON, hash: hash, operation: operation, batchID: batchID)
    }
}

/// One request: a delivery sent alone under its change id, or a batch under its batch id.
struct Shipment: Sendable {
    var members: [PreparedDelivery]
    var batchID: String?

    /// Sent as `Idempotency-Key` and `webhook-id`: the same on every attempt.
    var key: String { batchID ?? members[0].delivery.changeID }
}

/// A request that could not be made: its deliveries' outcomes, without a request.
struct UnsentShipment: Error {
    var sent: [SentDelivery]
}

/// How sending one delivery went; nothing is written until the whole chunk is back.
struct SentDelivery: Sendable {
    enum Kind: Sendable {
        case delivered, failed, retrying, notSent
        case gone(String)
    }
    var kind: Kind
    var result: DeliveryResult
    var requests: [RequestAttempt] = []
}

extension JobRunner {
    /// Plans a chunk: retries keep their frozen payload and request; new deliveries are
    /// planned from the records' current state, read in one transaction, and frozen.
    func prepare(_ chunk: [Delivery], context: PushContext, database: any WorksheetStore) throws
        -> (sends: [PreparedDelivery], skipped: [(id: Int64, reason: String)]) {
        let push = context.push, worksheet = context.planner.worksheet
        let fresh = chunk.filter { $0.payload == nil || $0.payloadHash == nil || $0.operation == nil }
        let inputs: [(record: (values: [String: SQLValue], matches: Bool)?, pushedHash: String?)]
        do {
            inputs = try database.pushInputs(job: context.job.name, worksheet: worksheet, recordKeys: fresh.map(\.recordKey), condition: push.when)
        } catch {
            // Almost always the job's SQL: say which job and which condition.
            let condition = push.when.map { " with its 'when' condition '\($0)'" } ?? ""
            throw StoreError(error.code, "Unable to read the records of push job '\(context.job.name)'\(condition) from worksheet '\(worksheet.name)', \(error.message). Fix the condition in jobs/\(context.job.name).yml (it is SQL over the worksheet's columns).")
        }
        var inputByID: [Int64: (record: (values: [String: SQLValue], matches: Bool)?, pushedHash: String?)] = [:]
        for (delivery, input) in zip(fresh, inputs) { inputByID[delivery.id] = input }
        var sends: [PreparedDelivery] = []
        var skipped: [(id: Int64, reason: String)] = []
        for delivery in chunk {
            guard let input = inputByID[delivery.id] else {
                sends.append(Self.frozen(delivery))
                continue
            }
            let current = input.record.map { CurrentRecord(values: $0.values, matches: $0.matches) }
            switch try context.planner.plan(current: current, pushedHash: input.pushedHash, key: delivery.keyValues,
                                            firstOperation: delivery.firstOperation, values: context.values) {
            case .skip(let reason): skipped.append((delivery.id, reason))
            case .send(let content): sends.append(freeze(delivery, content, context: context))
            }
        }
        return (sends, skipped)
    }

    /// A retry (or replay): the same bytes under the same id, secrets unsealed when sent.
    static func frozen(_ delivery: Delivery) -> PreparedDelivery {
        let text = delivery.payload ?? ""
        var record: [String: JSONValue] = [:]
        if let parsed = try? JSONReader.parse(text), case .object(let object) = parsed {
            for member in object.members { record[member.key] = member.value }
        }
        var prepared = PreparedDelivery(delivery: delivery, payload: SealedText(text: text), request: nil, hash: delivery.payloadHash ?? "",
                                        operation: delivery.operation ?? delivery.firstOperation, record: record)
        do {
            prepared.payload = try SealedText(text: text, sealsJSON: delivery.payloadSeals)
            prepared.request = try delivery.request.map { text throws(CoreError) in try SealedText(text: text, sealsJSON: delivery.requestSeals) }
        } catch {
            // Damaged seals: fail it rather than guess which text is a secret.
            prepared.unsendable = error.message
        }
        return prepared
    }

    /// Freezes a new delivery: its body and its whole request, secrets sealed by position.
    func freeze(_ delivery: Delivery, _ content: DeliveryContent, context: PushContext) -> PreparedDelivery {
        let secrets = context.values.secrets
        var prepared = PreparedDelivery(delivery: delivery, payload: SecretSeal.seal(String(decoding: content.payload, as: UTF8.self), secrets: secrets),
                                        request: nil, hash: content.hash, operation: content.operation, record: content.record)
        let request = context.shared ?? render(context, record: content.record).map { SecretSeal.seal($0.frozenText, secrets: secrets) }
        switch request {
        case .success(let sealed): prepared.request = sealed
        case .failure(let error): prepared.unsendable = context.redactor.redact(error.message)
        }
        return prepared
    }

    /// Groups a chunk's deliveries into requests. With `batch_size` 1 each goes alone. With
    /// more, a batch frozen earlier goes whole under its id; new and replayed deliveries
    /// form new batches in order; a delivery already tried alone (before batches were
    /// configured) and one that cannot be sent stay alone.
    static func shipments(_ sends: [PreparedDelivery], batchSize: Int) -> [Shipment] {
        guard batchSize > 1 else { return sends.map { Shipment(members: [$0], batchID: nil) } }
        var shipments: [Shipment] = []
        var frozenBatches: [String: Int] = [:]
        var open: [PreparedDelivery] = []
        func flush() {
            guard !open.isEmpty else { return }
            shipments.append(Shipment(members: open, batchID: Delivery.newBatchID()))
            open = []
        }
        for send in sends {
            if let id = send.delivery.batchID {
                if let index = frozenBatches[id] { shipments[index].members.append(send) } else {
                    frozenBatches[id] = shipments.count
                    shipments.append(Shipment(members: [send], batchID: id))
                }
            } else if send.unsendable != nil || send.delivery.attempts > 0 {
                shipments.append(Shipment(members: [send], batchID: nil))
            } else {
                open.append(send)
                if open.count == batchSize { flush() }
            }
        }
        flush()
        return shipments
    }

    /// The request for a record without its body: method, URL and headers rendered, and
    /// the body's Content-Type (none when no body goes), one attempt (retries are the ledger's).
    func render(_ context: PushContext, record: [String: JSONValue]) -> Result<PreparedRequest, HTTPStepError> {
        var recordValues = context.values
        recordValues.record = record
        var spec = context.push.request
        spec.body = nil
        spec.retry = RetryPolicy(attempts: 1)
        return Self.buildPage(context.builder, spec, values: recordValues, walker: nil, position: PagePosition()).map { built in
            var request = built
            if request.header("Content-Type") == nil, let type = context.planner.contentType {
                request.headers.append(("Content-Type", type))
            }
            return request
        }
    }

    /// Sends a chunk's requests with at most `delivery.concurrency` in flight. After a
    /// 410 nothing more is sent (what is in flight finishes); the rest is `notSent`.
    ///
    /// Requests sent once each (every push request: the ledger retries) go out together
    /// from the transport's sending loop (`HTTPTransport.sendOnce`); others (a GET or HEAD,
    /// whose redirects are followed) one task each.
    func send(_ shipments: [Shipment], context: PushContext) async -> [SentDelivery] {
        let built = shipments.map { request(for: $0, context: context) }
        let requests = built.compactMap { try? $0.get() }
        guard requests.allSatisfy(HTTPTransport.canSendOnce) else { return await sendOneByOne(shipments, built, context: context) }
        let exchanges = await transport.sendOnce(requests, concurrency: context.push.delivery.concurrency, redactor: context.redactor,
                                                 stopAfter: [DeliveryPolicy.goneStatus])
        var next = exchanges.makeIterator()
        return zip(shipments, built).flatMap { shipment, request in
            switch request {
            case .failure(let failed): return failed.sent
            case .success:
                guard let exchange = next.next() ?? nil else {
                    return shipment.members.map { SentDelivery(kind: .notSent, result: .notSent(id: $0.delivery.id)) }
                }
                return outcome(of: shipment, exchange, context: context)
            }
        }
    }

    /// `send` with one task per request, for requests the transport sends with its own rules.
    private func sendOneByOne(_ shipments: [Shipment], _ built: [Result<PreparedRequest, UnsentShipment>],
                              context: PushContext) async -> [SentDelivery] {
        let concurrency = context.push.delivery.concurrency
        return await withTaskGroup(of: (Int, [SentDelivery]).self) { group in
            var results = [[SentDelivery]?](repeating: nil, count: shipments.count)
            var next = 0
            func start() {
                let index = next
                next += 1
                group.addTask {
                    switch built[index] {
                    case .failure(let failed): return (index, failed.sent)
                    case .success(let request):
                        let exchange = await self.transport.send(request, redactor: context.redactor)
                        return (index, self.outcome(of: shipments[index], exchange, context: context))
                    }
                }
            }
            while next < min(concurrency, shipments.count) { start() }
            var gone = false
            while let (index, sent) = await group.next() {
                results[index] = sent
                if sent.contains(where: { if case .gone = $0.kind { true } else { false } }) { gone = true }
                if next < shipments.count, !gone { start() }
            }
            return results.enumerated().flatMap { index, sent in
                sent ?? shipments[index].members.map { SentDelivery(kind: .notSent, result: .notSent(id: $0.delivery.id)) }
            }
        }
    }

    /// One request (a delivery, or a batch as one JSON array) ready to go: the frozen
    /// request with its body, ids, timestamp and signature; or, when it cannot be made,
    /// every member failed without a request.
    func request(for shipment: Shipment, context: PushContext) -> Result<PreparedRequest, UnsentShipment> {
        let members = shipment.members
        func failAll(_ error: String, reason: String) -> Result<PreparedRequest, UnsentShipment> {
            .failure(UnsentShipment(sent: members.map {
                SentDelivery(kind: .failed, result: .failed(id: $0.delivery.id, status: nil, error: error, nextAttempt: nil, reason: reason))
            }))
        }
        if let unsendable = members.lazy.compactMap(\.unsendable).first {
            return failAll(unsendable, reason: "not sent: the stored request is unusable")
        }
        var request: PreparedRequest
        do {
            request = try frozenRequest(members[0].request, record: members[0].record, context: context)
        } catch {
            return failAll(Self.message(of: error, redactor: context.redactor), reason: "not sent: the request could not be made")
        }
        // The frozen payloads have their secrets sealed: put their values back where
        // sheetsync sealed them, and nowhere else (record data is never a template).
        var bodies: [[UInt8]] = []
        for member in members {
            do {
                bodies.append(Array(try SecretSeal.unseal(member.payload, secrets: context.values.secrets).utf8))
            } catch {
                return failAll(error.message, reason: "not sent: a sealed secret has no value")
            }
        }
        let body = shipment.batchID == nil ? bodies[0] : DeliveryPlanner.batchBody(bodies)
        request.body = context.planner.sendsBody ? body : nil
        let timestamp = Int64(Date().timeIntervalSince1970)
        request.headers += [("Idempotency-Key", shipment.key), ("webhook-id", shipment.key), ("webhook-timestamp", String(timestamp))]
        if shipment.batchID == nil {
            request.headers.append(("X-Sheetsync-Operation", members[0].operation.rawValue))
        } else {
            request.headers.append(("X-Sheetsync-Batch-Size", String(members.count)))
        }
        if let signer = context.signer {
            request.headers.append(("webhook-signature", signer.signature(id: shipment.key, timestamp: timestamp, body: request.body ?? [])))
        }
        return .success(request)
    }

    /// What one request's exchange means for each of its deliveries. A batch succeeds, is
    /// retried or fails whole.
    func outcome(of shipment: Shipment, _ exchange: HTTPExchange, context: PushContext) -> [SentDelivery] {
        let members = shipment.members
        var exchange = exchange
        let attemptsDone = members[0].delivery.attempts + 1
        // One request per delivery attempt: number it as the delivery's attempt.
        for index in exchange.attempts.indices { exchange.attempts[index].attempt = attemptsDone }
        if case .failure = exchange.result, Task.isCancelled {
            // Shutdown cut the request short: not the receiver's answer, so the attempt is
            // given back and the delivery goes again at the next start (same id, same bytes).
            var cut = members.map { SentDelivery(kind: .notSent, result: .notSent(id: $0.delivery.id)) }
            cut[0].requests = exchange.attempts
            return cut
        }
        var sent: [SentDelivery]
        switch exchange.result {
        case .success(let response):
            var writeBack: [String: SQLValue] = [:]
            if shipment.batchID == nil, !context.push.writeBack.isEmpty, members[0].operation != .delete,
               let document = try? JSONReader.parse((try? response.bodyBytes()) ?? []) {
                // A receiver's odd answer never undoes a delivery: values that do not convert are left out.
                writeBack = FieldMapper(checked: context.push.writeBack, in: context.planner.worksheet).convertibleValues(from: document)
            }
            sent = members.map { SentDelivery(kind: .delivered, result: .delivered($0.delivery, status: response.status, hash: $0.hash, writeBack: writeBack)) }
        case .failure(let error):
            switch context.policy.decide(status: error.status, retryAfter: error.retryAfter, attemptsDone: attemptsDone) {
            case .gone:
                let reason = "the endpoint answered 410 Gone for \(shipment.batchID == nil ? "change" : "batch") \(shipment.key): \(error.message)"
                sent = members.map { SentDelivery(kind: .gone(reason), result: .failed(id: $0.delivery.id, status: 410, error: error.message, nextAttempt: nil,
                                                                                     reason: "410 Gone: the job is disabled until 'sheetsync replay --failed'")) }
            case .retry(let delay):
                let next = WorksheetDatabase.timestamp(Date().addingTimeInterval(Double(delay.components.seconds) + Double(delay.components.attoseconds) / 1e18))
                sent = members.map { SentDelivery(kind: .retrying, result: .failed(id: $0.delivery.id, status: error.status, error: error.message, nextAttempt: next)) }
            case .giveUp(let reason):
                sent = members.map { SentDelivery(kind: .failed, result: .failed(id: $0.delivery.id, status: error.status, error: error.message, nextAttempt: nil, reason: reason)) }
            }
        }
        sent[0].requests = exchange.attempts
        return sent
    }

    /// The request as frozen at the first attempt, secrets unsealed where sheetsync sealed
    /// them; for deliveries frozen before requests were kept, rendered from the payload's record.
    func frozenRequest(_ request: SealedText?, record: [String: JSONValue], context: PushContext) throws -> PreparedRequest {
        guard let frozen = request else { return try render(context, record: record).get() }
        var spec = context.push.request
        spec.retry = RetryPolicy(attempts: 1)
        return try context.builder.rebuild(spec, frozenText: try SecretSeal.unseal(frozen, secrets: context.values.secrets))
    }

    public static func duration(until timestamp: String) -> Duration {
        guard let due = UTCDateTime(iso: timestamp) else { return .zero }
        let now = Date().timeIntervalSince1970
        let seconds = Double(due.seconds) + Double(due.nanoseconds) / 1e9 - now
        return seconds > 0 ? .milliseconds(Int64(seconds * 1000)) : .zero
    }

    /// What a push would send, computed without writing anything: pending deliveries
    /// (a retry shows its frozen request), then changes not yet taken in.
    func previewPush(_ job: JobDefinition, _ push: PushJob, worksheet: WorksheetDefinition, database: any WorksheetStore) async throws -> [RequestPreview] {
        let (values, redactor) = try self.values(for: job, params: [:])
        let context = PushContext(job: job, planner: DeliveryPlanner(push: push, worksheet: worksheet), policy: DeliveryPolicy(push.delivery),
                                  values: values, redactor: redactor, signer: nil,
                                  builder: RequestBuilder(projectDirectory: project.directory, userAgent: project.settings.http.userAgent))
        var previews: [RequestPreview] = []
        let pending = try database.deliveries(job: job.name, state: .pending, limit: 1000).reversed()
        var items: [(key: String, first: PushJob.Operation, frozen: Delivery?, pending: Delivery?)] = pending.map {
            ($0.recordKey, $0.firstOperation, $0.payload == nil ? nil : $0, $0)
        }
        for change in try database.unconsumedChanges(job: job.name, worksheet: job.worksheet) where !items.contains(where: { $0.key == change.key }) {
            items.append((change.key, PushJob.Operation(rawValue: change.operation) ?? .update, nil, nil))
        }
        let signs = push.delivery.signingSecret != nil
        for (key, first, frozen, pendingDelivery) in items {
            let payload: SealedText, request: SealedText?, record: [String: JSONValue], operation: PushJob.Operation
            if let frozen {
                let prepared = Self.frozen(frozen)
                (payload, request, record, operation) = (prepared.payload, prepared.request, prepared.record, prepared.operation)
            } else {
                let found = try database.record(in: worksheet, key: Delivery.keyValues(key), condition: push.when)
                let current = found.map { CurrentRecord(values: $0.values, matches: $0.matches) }
                guard case .send(let content) = try context.planner.plan(current: current, pushedHash: try database.pushedHash(job: job.name, key: key),
                                                                         key: Delivery.keyValues(key), firstOperation: first, values: values) else { continue }
                (payload, request, record, operation) = (SealedText(text: String(decoding: content.payload, as: UTF8.self)), nil, content.record, content.operation)
            }
            let body = redactor.redact((try? SecretSeal.unseal(payload, secrets: values.secrets)) ?? payload.text)
            // The headers every delivery carries, as `request(for:context:)` adds them: the id a
            // change already has (one not taken in yet gets its id then), and the signature.
            let id = pendingDelivery.map { $0.batchID ?? $0.changeID } ?? "chg_… (assigned when the change is taken in)"
            var added = [("Idempotency-Key", id), ("webhook-id", id), ("webhook-timestamp", "(the time of sending)")]
            added.append(push.delivery.batchSize > 1 ? ("X-Sheetsync-Batch-Size", "(the batch's size)") : ("X-Sheetsync-Operation", operation.rawValue))
            if signs { added.append(("webhook-signature", "v1,… (HMAC-SHA256 of the id, timestamp and body, computed when sent)")) }
            do {
                let request = try frozenRequest(request, record: record, context: context)
                previews.append(RequestPreview(method: request.method.rawValue, url: redactor.redact(request.url),
                                               headers: (request.headers + added).map { ($0.0, redactor.redact($0.1)) }, body: body))
            } catch {
                // Shown, not skipped: a dry run must list every delivery the push would try.
                previews.append(RequestPreview(method: push.request.method.rawValue,
                                               url: "(cannot be built: \(redactor.redact(Self.message(of: error, redactor: redactor))))",
                                               headers: [], body: body))
            }
        }
        return previews
    }
}
