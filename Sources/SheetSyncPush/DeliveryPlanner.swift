import SheetSyncCore

/// A record's row as a push pass reads it: its values and whether the job's `when`
/// condition holds for it.
public struct CurrentRecord: Sendable {
    public var values: [String: SQLValue]
    public var matches: Bool

    public init(values: [String: SQLValue], matches: Bool) {
        self.values = values
        self.matches = matches
    }
}

/// What one delivery sends, decided before anything is sent and then frozen.
public struct DeliveryContent: Sendable {
    /// The body (empty for a GET, HEAD or DELETE without a written body).
    public var payload: [UInt8]
    /// The digest of the pushed fields: a later change with the same digest is not sent again.
    public var hash: String
    public var operation: PushJob.Operation
    /// The record's values as JSON, for the request's `{{record.…}}` templates.
    public var record: [String: JSONValue]
}

/// The decision for one delivery.
public enum DeliveryPlan: Sendable {
    case skip(String)
    case send(DeliveryContent)
}

/// Decides what each change of a push job sends: insert, update or delete (`on`), whether
/// the record qualifies (`when`), whether its pushed fields changed (`fields`, ignoring
/// written-back ones), and the body (the whole record, or the job's template).
///
/// Record values are data: they fill the job's templates and are never parsed as one.
public struct DeliveryPlanner: Sendable {
    public let push: PushJob
    public let worksheet: WorksheetDefinition
    /// The fields a delivery sends (the job's `fields`, or every user field).
    public let pushedFields: [WorksheetDefinition.Field]

    public init(push: PushJob, worksheet: WorksheetDefinition) {
        self.push = push
        self.worksheet = worksheet
        pushedFields = push.fields.map { names in worksheet.fields.filter { names.contains($0.name) } } ?? worksheet.fields
    }

    /// Whether requests carry a body: GET, HEAD and DELETE send none unless the job writes one.
    public var sendsBody: Bool {
        push.request.body != nil || ![.GET, .HEAD, .DELETE].contains(push.request.method)
    }

    /// The request's Content-Type when the job does not set one (nil: no body, no type).
    public var contentType: String? {
        guard sendsBody else { return nil }
        switch push.request.body {
        case .raw(_, let type)?: return type
        case .form?: return "application/x-www-form-urlencoded"
        default: return "application/json"
        }
    }

    /// The plan for one change of the record with key `key`, from its current row (nil when
    /// it is gone) and the digest of what was last delivered for it.
    public func plan(current: CurrentRecord?, pushedHash: String?, key: [SQLValue], firstOperation: PushJob.Operation,
                     values: TemplateValues) throws(CoreError) -> DeliveryPlan {
        let operation: PushJob.Operation
        if current == nil {
            operation = .delete
        } else if firstOperation == .insert, pushedHash == nil {
            operation = .insert
        } else {
            operation = .update
        }
        guard push.on.contains(operation) else { return .skip("'\(operation.rawValue)' is not in 'on'") }
        guard let current else {
            // Deleted: send the key, marked as a deletion.
            var record: [String: JSONValue] = [:]
            for (name, value) in zip(worksheet.key, key) {
                record[name] = RecordPayload.typed(value, as: worksheet.field(named: name)?.type ?? .text)
            }
            let body = JSONValue.object(JSONObject(worksheet.key.map { JSONObject.Member(key: $0, value: record[$0] ?? .null) }
                + [JSONObject.Member(key: "_deleted", value: .bool(true))]))
            let payload = sendsBody ? Array(body.jsonText.utf8) : []
            return .send(DeliveryContent(payload: payload, hash: "deleted", operation: .delete, record: record))
        }
        guard current.matches else { return .skip("'when' is false for the record") }
        var record: [String: JSONValue] = [:]
        for field in worksheet.fields { record[field.name] = RecordPayload.typed(current.values[field.name] ?? .null, as: field.type) }
        // What counts as a change: the pushed fields, without those written back from responses.
        let writtenBack = Set(push.writeBack.map(\.field))
        let projection = RecordPayload.object(fields: pushedFields.filter { !writtenBack.contains($0.name) }, values: current.values)
        let hash = WebhookSigner.sha256Hex(Array(projection.jsonText.utf8))
        if hash == pushedHash { return .skip("pushed fields unchanged since the last delivery") }
        return .send(DeliveryContent(payload: try body(record: record, values: values), hash: hash, operation: operation, record: record))
    }

    /// The body for a record: the pushed fields as one JSON object ("Send Specified Data
    /// Object"), or the job's template filled with the record's values.
    public func body(record: [String: JSONValue], values: TemplateValues) throws(CoreError) -> [UInt8] {
        guard sendsBody else { return [] }
        var recordValues = values
        recordValues.record = record
        switch push.request.body {
        case .record?, nil:
            return Array(JSONValue.object(JSONObject(pushedFields.map { JSONObject.Member(key: $0.name, value: record[$0.name] ?? .null) })).jsonText.utf8)
        case .json(let template)?:
            return Array(try template.render(recordValues).jsonText.utf8)
        case .raw(let template, _)?:
            return Array(try template.renderText(recordValues).utf8)
        case .form(let form)?:
            var parts: [String] = []
            for field in form { parts.append(PercentEncoding.formEncode(field.name) + "=" + PercentEncoding.formEncode(try field.value.renderText(recordValues))) }
            return Array(parts.joined(separator: "&").utf8)
        case .multipart?, .binary?:
            // `validate` refuses these for push jobs; a job built in code gets the same words.
            throw CoreError(.invalidTemplate, "push jobs send a record as JSON, raw text or a form; multipart and binary bodies are for pull requests")
        }
    }

    /// The body of a batch: the members' bodies, in order, as one JSON array. Each member is
    /// exactly what the record would send alone (a deletion carries `"_deleted": true`).
    public static func batchBody(_ members: [[UInt8]]) -> [UInt8] {
        var body: [UInt8] = [UInt8(ascii: "[")]
        for (index, member) in members.enumerated() {
            if index > 0 { body.append(UInt8(ascii: ",")) }
            body += member.isEmpty ? Array("null".utf8) : member
        }
        body.append(UInt8(ascii: "]"))
        return body
    }
}
