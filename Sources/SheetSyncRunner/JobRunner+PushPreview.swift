import Foundation
import SheetSyncCore
import SheetSyncHTTP
import SheetSyncPush
import SheetSyncStore
import SheetSyncTransform

extension JobRunner {
    /// "Test API" for a push job: renders the delivery for one record — the one with key
    /// `recordKey` (a value, or a JSON array for a key of several fields), by default the
    /// worksheet's latest captured change — exactly as it would go (method, URL, headers,
    /// signature, body; secrets masked in what is shown). With `send`, sends it once and
    /// shows the response. The ledger, the outbox and the run history are not touched.
    public func testPush(_ job: JobDefinition, recordKey: String?, send: Bool) async -> PreviewReport {
        var report = PreviewReport()
        guard case .push(let push) = job.kind, let worksheet = project.worksheet(named: job.worksheet) else {
            report.error = "'\(job.name)' is not a push job with a defined worksheet"
            return report
        }
        report.worksheets = [worksheet]
        guard let database else {
            report.error = "there is no database yet, so no record to send; run 'sheetsync migrate' and add a record to '\(worksheet.name)' first"
            return report
        }
        do {
            let (values, redactor) = try self.values(for: job, params: [:])
            report.redactor = redactor
            let key = try recordKey.map { try Self.keyJSON($0, worksheet: worksheet) } ?? database.latestChangedKey(worksheet: worksheet)
            guard let key else {
                report.error = "'\(worksheet.name)' has no record yet; add one, or pass --record KEY"
                return report
            }
            let context = PushContext(job: job, planner: DeliveryPlanner(push: push, worksheet: worksheet), policy: DeliveryPolicy(push.delivery),
                                      values: values, redactor: redactor,
                                      signer: try push.delivery.signingSecret.map { WebhookSigner(secret: try $0.renderText(values)) },
                                      builder: RequestBuilder(projectDirectory: project.directory, userAgent: project.settings.http.userAgent,
                                                              defaultMaxResponseBytes: project.settings.http.maxResponseBytes))
            let found = try database.record(in: worksheet, key: Delivery.keyValues(key), condition: push.when)
            var current = found.map { CurrentRecord(values: $0.values, matches: $0.matches) }
            if let found, !found.matches {
                report.notes.append("'when' is false for record \(key): a push would skip it; shown as if it held")
                current?.matches = true
            }
            if found == nil { report.notes.append("record \(key) is not in '\(worksheet.name)': shown as the deletion a push would send") }
            let plan = try context.planner.plan(current: current, pushedHash: nil, key: Delivery.keyValues(key),
                                                firstOperation: found == nil ? .delete : .update, values: values)
            guard case .send(let content) = plan else {
                if case .skip(let reason) = plan { report.error = "record \(key) would not be sent: \(reason)" }
                return report
            }
            var request = try render(context, record: content.record).get()
            request.body = context.planner.sendsBody ? (push.delivery.batchSize > 1 ? DeliveryPlanner.batchBody([content.payload]) : content.payload) : nil
            // A fresh id: a later real delivery of this change is not dropped as a repeat of the test.
            let id = push.delivery.batchSize > 1 ? Delivery.newBatchID() : Delivery.newChangeID()
            let timestamp = Int64(Date().timeIntervalSince1970)
            request.headers += [("Idempotency-Key", id), ("webhook-id", id), ("webhook-timestamp", String(timestamp))]
            request.headers.append(push.delivery.batchSize > 1 ? ("X-Sheetsync-Batch-Size", "1") : ("X-Sheetsync-Operation", content.operation.rawValue))
            if let signer = context.signer {
                request.headers.append(("webhook-signature", signer.signature(id: id, timestamp: timestamp, body: request.body ?? [])))
            }
            report.request = RequestPreview(method: request.method.rawValue, url: redactor.redact(request.url),
                                            headers: request.headers.map { ($0.name, redactor.redact($0.value)) },
                                            body: request.body.map { redactor.excerpt(bytes: $0, limit: 4000) })
            guard send else { return report }
            let exchange = await transport.send(request, redactor: redactor)
            switch exchange.result {
            case .success(let response):
                report.response = Self.inMemory(response)
                report.document = try? JSONReader.parse((try? response.bodyBytes()) ?? [])
            case .failure(let error):
                report.error = error.message
                if let response = error.response {
                    report.response = Self.inMemory(response)
                    report.document = try? JSONReader.parse(report.response!.body)
                }
            }
        } catch {
            report.error = Self.message(of: error, redactor: report.redactor)
        }
        return report
    }

    /// The ledger's form of a key (`json_array(…)`, as the capture triggers write it) from
    /// what a user types: a value for a one-field key, or a JSON array.
    static func keyJSON(_ text: String, worksheet: WorksheetDefinition) throws(CoreError) -> String {
        if text.hasPrefix("["), case .array(let items)? = try? JSONReader.parse(text) {
            guard items.count == worksheet.key.count else {
                throw CoreError(.conversionFailed, "--record \(text) has \(items.count) value(s); the key of '\(worksheet.name)' is [\(worksheet.key.joined(separator: ", "))]")
            }
            return JSONValue.array(items).jsonText
        }
        guard worksheet.key.count == 1, let field = worksheet.field(named: worksheet.key[0]) else {
            throw CoreError(.conversionFailed, "the key of '\(worksheet.name)' is [\(worksheet.key.joined(separator: ", "))]: pass --record as a JSON array, such as '[\"a\", 1]'")
        }
        let value = try field.type.convert(.string(text))
        return JSONValue.array([value.jsonValue]).jsonText
    }
}
