import Foundation
import Logging
import SheetSyncCore
import SheetSyncHTTP
import SheetSyncPush
import SheetSyncStore
import SheetSyncTransform

/// Planning a push delivery: what it sends for a record (or why it is skipped), its
/// request rendered for freezing, and what a dry run shows.
extension JobRunner {
    /// The request for a record without its body: method, URL and headers rendered, and
    /// the body's Content-Type, one attempt (retries are the ledger's).
    func render(_ push: PushJob, record: [String: JSONValue], values: TemplateValues, builder: RequestBuilder) -> Result<PreparedRequest, HTTPStepError> {
        var recordValues = values
        recordValues.record = record
        var spec = push.request
        spec.body = nil
        spec.retry = RetryPolicy(attempts: 1)
        return Self.buildPage(builder, spec, values: recordValues, walker: nil, position: PagePosition()).map { built in
            var request = built
            if request.header("Content-Type") == nil {
                request.headers.append(("Content-Type", push.request.body.map(Self.contentType) ?? "application/json"))
            }
            return request
        }
    }

    /// Decides what a delivery sends (or that it is skipped), from the record's current state.
    func plan(job: String, recordKey: String, firstOperation: String, push: PushJob, worksheet: WorksheetDefinition,
              values: TemplateValues, database: WorksheetDatabase) throws -> DeliveryPlan {
        let found = try database.record(in: worksheet, key: Delivery.keyValues(recordKey), condition: push.when)
        let previous = try database.pushedHash(job: job, key: recordKey)
        return try plan(found: found, previous: previous, recordKey: recordKey, firstOperation: firstOperation, push: push,
                        worksheet: worksheet, values: values)
    }

    /// The same decision from the record's row and last pushed hash, already read.
    func plan(found: (values: [String: SQLValue], matches: Bool)?, previous: String?, recordKey: String, firstOperation: String,
              push: PushJob, worksheet: WorksheetDefinition, values: TemplateValues) throws -> DeliveryPlan {
        let keyValues = Delivery.keyValues(recordKey)
        let operation: PushJob.Operation
        if found == nil {
            operation = .delete
        } else if firstOperation == "insert", previous == nil {
            operation = .insert
        } else {
            operation = .update
        }
        guard push.on.contains(operation) else { return .skip("'\(operation.rawValue)' is not in 'on'") }
        var record: [String: JSONValue] = [:]
        if let found {
            guard found.matches else { return .skip("'when' is false for the record") }
            let fields = push.fields.map { names in worksheet.fields.filter { names.contains($0.name) } } ?? worksheet.fields
            guard case .object(let object) = RecordPayload.object(fields: worksheet.fields, values: found.values) else { return .skip("no record") }
            for member in object.members { record[member.key] = member.value }
            // What counts as a change: the pushed fields, without those written back from responses.
            let writtenBack = Set(push.writeBack.map(\.field))
            let projection = RecordPayload.object(fields: fields.filter { !writtenBack.contains($0.name) }, values: found.values)
            let hash = WebhookSigner.sha256Hex(Array(projection.jsonText.utf8))
            if hash == previous { return .skip("pushed fields unchanged since the last delivery") }
            let body = try payload(push: push, record: record, fields: fields, values: values)
            return .send(payload: body, hash: hash, operation: operation.rawValue, record: record)
        }
        // Deleted: send the key, marked as a deletion.
        for (name, value) in zip(worksheet.key, keyValues) {
            record[name] = RecordPayload.typed(value, as: worksheet.field(named: name)?.type ?? .text)
        }
        let body = JSONValue.object(JSONObject(worksheet.key.map { JSONObject.Member(key: $0, value: record[$0] ?? .null) }
            + [JSONObject.Member(key: "_deleted", value: .bool(true))]))
        return .send(payload: Array(body.jsonText.utf8), hash: "deleted", operation: "delete", record: record)
    }

    /// The body for a record: the whole record ("Send Specified Data Object"), or the job's template.
    func payload(push: PushJob, record: [String: JSONValue], fields: [WorksheetDefinition.Field], values: TemplateValues) throws -> [UInt8] {
        var recordValues = values
        recordValues.record = record
        switch push.request.body {
        case .record?, nil:
            let object = JSONValue.object(JSONObject(fields.map { JSONObject.Member(key: $0.name, value: record[$0.name] ?? .null) }))
            return Array(object.jsonText.utf8)
        case .json(let template)?:
            return Array(try template.render(recordValues).jsonText.utf8)
        case .raw(let template, _)?:
            return Array(try template.renderText(recordValues).utf8)
        case .form(let form)?:
            return Array(try form.map { PercentEncoding.formEncode($0.name) + "=" + PercentEncoding.formEncode(try $0.value.renderText(recordValues)) }.joined(separator: "&").utf8)
        case .multipart?, .binary?:
            throw StoreError(.sqlError, "push jobs send a record as JSON, raw text or a form; multipart and binary bodies are for pull requests")
        }
    }

    static func unseal(_ payload: SealedText, secrets: [String: String]) -> Result<[UInt8], CoreError> {
        do {
            return .success(Array(try SecretSeal.unseal(payload, secrets: secrets).utf8))
        } catch {
            return .failure(error)
        }
    }

    static func contentType(_ body: RequestBody) -> String {
        switch body {
        case .raw(_, let type): type
        case .form: "application/x-www-form-urlencoded"
        default: "application/json"
        }
    }

    static func duration(until timestamp: String) -> Duration {
        guard let due = UTCDateTime(iso: timestamp) else { return .zero }
        let now = Date().timeIntervalSince1970
        let seconds = Double(due.seconds) + Double(due.nanoseconds) / 1e9 - now
        return seconds > 0 ? .milliseconds(Int64(seconds * 1000)) : .zero
    }

    /// What a push would send, computed without writing anything.
    func previewPush(_ job: JobDefinition, _ push: PushJob, worksheet: WorksheetDefinition, database: WorksheetDatabase) async throws -> [RequestPreview] {
        let (values, redactor) = try self.values(for: job, params: [:])
        var previews: [RequestPreview] = []
        let pending = try database.deliveries(job: job.name, state: "pending", limit: 1000).reversed()
        var items: [(key: String, first: String, frozen: Delivery?)] = pending.map { ($0.recordKey, $0.firstOperation, $0.payload == nil ? nil : $0) }
        for change in try database.unconsumedChanges(job: job.name, worksheet: job.worksheet) where !items.contains(where: { $0.key == change.key }) {
            items.append((change.key, change.operation, nil))
        }
        let builder = RequestBuilder(projectDirectory: project.directory, userAgent: project.settings.http.userAgent)
        for (key, first, frozen) in items {
            let body: [UInt8]
            let built: Result<PreparedRequest, HTTPStepError>
            if let frozen, let frozenRequest = frozen.request {
                // A retry sends its frozen request: show that one, secrets unsealed and then masked.
                body = Array((frozen.payload ?? "").utf8)
                let sealed = (try? SealedText(text: frozenRequest, sealsJSON: frozen.requestSeals)) ?? SealedText(text: frozenRequest)
                let text = (try? SecretSeal.unseal(sealed, secrets: values.secrets)) ?? frozenRequest
                built = Result { () throws(HTTPStepError) in try builder.rebuild(push.request, frozenText: text) }
            } else if let frozen {
                body = Array((frozen.payload ?? "").utf8)
                var record: [String: JSONValue] = [:]
                if case .object(let object)? = try? JSONReader.parse(frozen.payload ?? "") {
                    for member in object.members { record[member.key] = member.value }
                }
                built = render(push, record: record, values: values, builder: builder)
            } else {
                switch try plan(job: job.name, recordKey: key, firstOperation: first, push: push, worksheet: worksheet,
                                values: values, database: database) {
                case .skip: continue
                case .send(let payload, _, _, let record):
                    body = payload
                    built = render(push, record: record, values: values, builder: builder)
                }
            }
            switch built {
            case .success(let request):
                previews.append(RequestPreview(method: request.method.rawValue, url: redactor.redact(request.url),
                                               headers: request.headers.map { ($0.name, redactor.redact($0.value)) },
                                               body: redactor.redact(String(decoding: body, as: UTF8.self))))
            case .failure(let error):
                // Shown, not skipped: a dry run must list every delivery the push would try.
                previews.append(RequestPreview(method: push.request.method.rawValue, url: "(cannot be built: \(redactor.redact(error.message)))",
                                               headers: [], body: redactor.redact(String(decoding: body, as: UTF8.self))))
            }
        }
        return previews
    }
}
