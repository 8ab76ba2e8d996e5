import SheetSyncCore

/// JSON Schemas (draft-07, what `yaml-language-server` reads) of `jobs/*.yml`,
/// `schema/*.yml` and `sheetsync.yml`, for editors to complete and check keys.
///
/// Built from the loader's own key lists (`JobFileDecoder.pullKeys`, `.requestKeys`, …):
/// every object lists exactly the keys the loader accepts, with a type for each here. A
/// key added to the loader without a type here shows in `missingTypes` (a test keeps it
/// empty), and the schema files in `schemas/` are checked against `sheetsync schema`.
/// The schema checks shape (keys, types, enums); the loader checks meaning (paths,
/// templates, references) and stays the authority: `sheetsync validate`.
public enum ConfigSchema {
    public enum File: String, CaseIterable, Sendable {
        case job, worksheet, settings

        /// The file name it is shipped under (`schemas/` in the repository, `.sheetsync/` in
        /// a project made by `sheetsync init`).
        public var fileName: String { "\(rawValue).schema.json" }
    }

    /// The schema of `file`, as pretty JSON text.
    public static func text(_ file: File) -> String {
        schema(file).prettyText() + "\n"
    }

    public static func schema(_ file: File) -> JSONValue {
        var types = TypeTable()
        let body: JSONValue
        switch file {
        case .job: body = job(&types)
        case .worksheet: body = worksheet(&types)
        case .settings: body = settings(&types)
        }
        guard case .object(var object) = body else { return body }
        object.members.insert(.init(key: "$schema", value: .string("http://json-schema.org/draft-07/schema#")), at: 0)
        return .object(object)
    }

    /// Keys the loader accepts that have no type here, as `file: context.key` (should be none).
    public static var missingTypes: [String] {
        File.allCases.flatMap { file -> [String] in
            var types = TypeTable()
            switch file {
            case .job: _ = job(&types)
            case .worksheet: _ = worksheet(&types)
            case .settings: _ = settings(&types)
            }
            return types.missing.map { "\(file.rawValue): \($0)" }
        }
    }

    // MARK: - Building blocks

    /// Collects which keys had no type while objects are built.
    struct TypeTable {
        var missing: [String] = []

        /// An object of exactly `keys` (the loader's list, in its order), typed from `types`.
        mutating func object(_ context: String, keys: [String], _ types: KeyValuePairs<String, JSONValue>, required: [String] = [],
                             description: String? = nil) -> JSONValue {
            var properties: [JSONObject.Member] = []
            for key in keys {
                if let type = types.first(where: { $0.key == key })?.value {
                    properties.append(.init(key: key, value: type))
                } else {
                    missing.append(context.isEmpty ? key : "\(context).\(key)")
                    properties.append(.init(key: key, value: .object(JSONObject())))
                }
            }
            for key in types.map(\.key) where !keys.contains(key) { missing.append("\(context).\(key) (typed, but the loader does not accept it)") }
            var members: [JSONObject.Member] = []
            if let description { members.append(.init(key: "description", value: .string(description))) }
            members.append(.init(key: "type", value: .string("object")))
            if !required.isEmpty { members.append(.init(key: "required", value: .array(required.map(JSONValue.string)))) }
            members.append(.init(key: "properties", value: .object(JSONObject(properties))))
            members.append(.init(key: "additionalProperties", value: .bool(false)))
            return .object(JSONObject(members))
        }
    }

    static func described(_ description: String, _ type: JSONValue) -> JSONValue {
        guard case .object(var object) = type else { return type }
        object.members.insert(.init(key: "description", value: .string(description)), at: 0)
        return .object(object)
    }

    static func type(_ name: String) -> JSONValue { .object(JSONObject(["type": .string(name)])) }
    static func oneOf(_ types: JSONValue...) -> JSONValue { .object(JSONObject(["oneOf": .array(types)])) }
    static func anyOf(_ types: JSONValue...) -> JSONValue { .object(JSONObject(["anyOf": .array(types)])) }
    static func enumeration(_ values: [String]) -> JSONValue { .object(JSONObject(["enum": .array(values.map(JSONValue.string))])) }
    static func array(of item: JSONValue) -> JSONValue { .object(JSONObject(["type": .string("array"), "items": item])) }
    static func map(of value: JSONValue) -> JSONValue { .object(JSONObject(["type": .string("object"), "additionalProperties": value])) }
    static func integer(_ range: ClosedRange<Int>? = nil) -> JSONValue {
        guard let range else { return type("integer") }
        return .object(JSONObject(["type": .string("integer"), "minimum": .number(String(range.lowerBound)), "maximum": .number(String(range.upperBound))]))
    }

    /// A template (`{{env.X}}/path`): YAML may give it as a number or a boolean too.
    static let template = described("A template: text with {{env.X}}, {{secret.X}}, {{param.X}}, {{state.X}}, … references.",
                                     .object(JSONObject(["type": .array(["string", "number", "boolean"].map(JSONValue.string))])))
    /// A JSON path such as `$.data` (or `$parent.id`, `$response.status`).
    static let jsonPath = described("A JSON path such as $.data or $.amount.value.",
                                    .object(JSONObject(["type": .string("string"), "pattern": .string("^\\$")])))
    /// `10s`, `500ms`, `1h30m`, or a number of seconds.
    static let duration = described("A duration: 500ms, 10s, 5m, 1h30m, 2d, or a number of seconds.",
                                    .object(JSONObject(["type": .array([.string("string"), .string("number")])])))
    static let templateMap = map(of: template)

    // MARK: - jobs/*.yml

    static func job(_ types: inout TypeTable) -> JSONValue {
        let request = request(&types, context: "request")
        let fieldSource = oneOf(
            described("A JSON path into the record ($.a.b), $parent.NAME, $response.status, or a template of run values ({{param.x}}).", type("string")),
            types.object("fields.NAME", keys: ["value"], ["value": described("A constant value.", .object(JSONObject()))], required: ["value"]))
        let fieldMap = described("Worksheet field → where its value comes from.", map(of: fieldSource))
        let writeMode = described("How rows are written: upsert (default), insert (new keys only) or update (existing keys only).",
                                  enumeration(WriteMode.allCases.map(\.rawValue)))
        let childProperties: KeyValuePairs<String, JSONValue> = [
            "worksheet": described("The child worksheet (schema/NAME.yml).", type("string")),
            "records": jsonPath,
            "fields": fieldMap,
            "children": described("Children of each child record, to any depth.", array(of: .object(JSONObject(["$ref": .string("#/definitions/child")])))),
            "write": writeMode,
        ]
        let child = types.object("children", keys: JobFileDecoder.childKeys, childProperties, required: ["worksheet", "records"])
        let paginate = types.object("paginate", keys: JobFileDecoder.paginateKeys, [
            "style": described("How the next page is found.", enumeration(PaginationSpec.Style.allCases.map(\.rawValue))),
            "param": described("The name the page number, offset or token is sent under.", type("string")),
            "start": described("The first page number or offset.", integer()),
            "size_param": described("The name the page size is sent under.", type("string")),
            "size": described("The page size asked for.", integer(1...1_000_000)),
            "next": jsonPath,
            "in": described("Where param and size_param go.", enumeration(PaginationSpec.TokenLocation.allCases.map(\.rawValue))),
            "has_more": jsonPath, "total": jsonPath, "total_pages": jsonPath,
            "max_pages": integer(1...Int(Int32.max)),
            "stop_on_empty": type("boolean"), "stop_on_short_page": type("boolean"),
            "delay": duration,
            "requests_per_second": described("Requests per second at most.", type("number")),
            "allow_origins": described("Other origins next-page URLs may point at (https://host:port).", array(of: type("string"))),
            "on_stale_resume": enumeration(["fail", "restart"]),
        ], required: ["style"])
        let incremental = types.object("incremental", keys: JobFileDecoder.incrementalKeys, [
            "cursor": jsonPath,
            "start": described("The cursor of the first run.", template),
            "lookback": duration,
        ], required: ["cursor"])
        let step = types.object("steps", keys: JobFileDecoder.stepKeys, [
            "name": described("The step's name ({{steps.NAME.value}}).", .object(JSONObject(["type": .string("string"), "pattern": .string("^[A-Za-z_][A-Za-z0-9_]*$")]))),
            "per_record": described("Run once per record (filling fields) instead of once before the main request (extracting values).", type("boolean")),
            "concurrency": integer(1...64),
            "request": request,
            "values": described("Value name → JSON path into the step's response.", map(of: jsonPath)),
            "fields": fieldMap,
            "inherit_headers": described("A per-record step sends the job request's headers on the job's origin (default true).", type("boolean")),
        ], required: ["name", "request"])
        let delivery = types.object("delivery", keys: JobFileDecoder.deliveryKeys, [
            "attempts": described("Total attempts per change, the first included (default 10).", integer(1...100)),
            "backoff": described("Delays between attempts.", array(of: duration)),
            "batch_size": integer(1...10_000),
            "concurrency": integer(1...256),
            "signing_secret": described("A {{secret.…}} to sign deliveries with (Standard Webhooks).", type("string")),
        ])
        let operations = PushJob.Operation.allCases.map(\.rawValue)
        let all = Array(uniqueKeys(JobFileDecoder.pullKeys + JobFileDecoder.pushKeys))
        var root = types.object("", keys: all, [
            "kind": described("pull: request records and upsert them into the worksheet; push: send its changed records.", enumeration(["pull", "push"])),
            "description": type("string"),
            "worksheet": described("The worksheet (schema/NAME.yml) the job fills or reads.", type("string")),
            "schedule": described("When 'sheetsync serve' runs it: cron (*/15 * * * *), @hourly, @daily, @every 10m.", type("string")),
            "timezone": described("IANA time zone of the schedule (default: sheetsync.yml's, else UTC).", type("string")),
            "params": described("Defaults for {{param.NAME}}.", templateMap),
            "request": request,
            "overlap": enumeration(OverlapPolicy.allCases.map(\.rawValue)),
            "missed": enumeration(MissedPolicy.allCases.map(\.rawValue)),
            "max_catchup": integer(0...1000),
            "paginate": paginate,
            "records": described("Where the array of records is in each response (default $).", jsonPath),
            "key": described("The fields that identify a row (default: the worksheet's key).", array(of: type("string"))),
            "fields": oneOf(fieldMap, described("Push: the fields whose changes are sent.", array(of: type("string")))),
            "children": described("Nested arrays of each record written as rows of child worksheets.", array(of: .object(JSONObject(["$ref": .string("#/definitions/child")])))),
            "incremental": incremental,
            "steps": described("Setup steps (once, before the main request) and per_record steps.", array(of: step)),
            "write": writeMode,
            "skip_unchanged": described("Skip records whose bytes are unchanged since the last sync (guarded against other writers).", type("boolean")),
            "when": described("Push: an SQL condition over the worksheet's columns a record must meet to be sent.", type("string")),
            "on": described("Push: which changes are sent.", array(of: enumeration(operations))),
            "delivery": delivery,
            "write_back": described("Push: worksheet field → JSON path into the receiver's answer.", map(of: jsonPath)),
            "notify": oneOf(described("false: no notifications for this job; true: the project's (the default).", type("boolean")),
                            notify(&types, context: "notify")),
        ], required: ["kind", "worksheet", "request"], description: "A sheetsync job (jobs/NAME.yml). 'sheetsync validate' checks what a schema cannot.")
        // Keys of one kind only: a pull job has no 'delivery', a push job no 'paginate'.
        if case .object(var object) = root {
            let byKind: [JSONValue] = [("pull", JobFileDecoder.pullKeys), ("push", JobFileDecoder.pushKeys)].map { kind, keys in
                .object(JSONObject([
                    "if": .object(JSONObject(["properties": .object(JSONObject(["kind": .object(JSONObject(["const": .string(kind)]))])), "required": .array([.string("kind")])])),
                    "then": .object(JSONObject(["propertyNames": enumeration(keys)])),
                ]))
            }
            object.members.append(.init(key: "allOf", value: .array(byKind)))
            object.members.append(.init(key: "definitions", value: .object(JSONObject(["child": child]))))
            root = .object(object)
        }
        return root
    }

    static func request(_ types: inout TypeTable, context: String) -> JSONValue {
        let multipartFile = types.object("\(context).body.multipart.NAME", keys: JobFileDecoder.multipartFileKeys, [
            "file": described("A file to upload (a template; relative to the project).", template),
            "filename": template,
            "content_type": type("string"),
        ], required: ["file"])
        let body = types.object("\(context).body", keys: JobFileDecoder.bodyKeys, [
            "json": described("A JSON body; string values are templates.", .object(JSONObject())),
            "form": described("An application/x-www-form-urlencoded body.", templateMap),
            "multipart": described("A multipart/form-data body: name → value or file.", map(of: anyOf(template, multipartFile))),
            "raw": described("A text body (with content_type).", template),
            "binary": described("A file sent as the body (with content_type).", template),
            "content_type": type("string"),
        ])
        let bodyOrRecord = oneOf(body, described("Push: the record as JSON.", enumeration(["record"])))
        let error = types.object("\(context).error", keys: JobFileDecoder.errorKeys, [
            "when": described("An SQL-like condition over the response that fails a 2xx response too.", type("string")),
            "code": jsonPath, "message": jsonPath,
            "retry": described("Retry a response the condition fails.", type("boolean")),
        ])
        let retry = types.object("\(context).retry", keys: JobFileDecoder.retryKeys, [
            "attempts": described("Total attempts, the first included (default 3).", integer(1...20)),
            "on": described("Statuses retried (default [429, 502, 503, 504]).", array(of: integer(100...599))),
            "delay": duration, "max_delay": duration,
            "non_idempotent": described("Retry a POST or PATCH that may have reached the server.", type("boolean")),
        ])
        return types.object(context, keys: JobFileDecoder.requestKeys, [
            "method": enumeration(HTTPRequestSpec.Method.allCases.map(\.rawValue)),
            "url": described("The URL: static and dynamic parts ({{env.API}}/orders).", template),
            "query": described("Query parameters: name → template (an empty {{state.…}} value is left out).", templateMap),
            "headers": described("Headers: name → template.", templateMap),
            "body": bodyOrRecord,
            "timeout": duration,
            "proxy": described("Use the proxy of sheetsync.yml.", type("boolean")),
            "verify_tls": type("boolean"),
            "ca_file": type("string"),
            "success_codes": described("Statuses that succeed: a list, or \"200,201\".",
                                       oneOf(array(of: integer(100...599)), type("string"), integer(100...599))),
            "error": error,
            "on_failure": enumeration(["terminate", "continue"]),
            "retry": retry,
            "max_response_bytes": described("Largest response accepted: bytes, or 64MiB, 10MB.", .object(JSONObject(["type": .array([.string("string"), .string("integer")])]))),
        ], required: ["url"])
    }

    static func notify(_ types: inout TypeTable, context: String) -> JSONValue {
        types.object(context, keys: NodeReader.notifyKeys, [
            "url": described("The webhook to post to: a {{secret.…}} (a webhook URL is a credential).", template),
            "on": described("Which events: failure, still_failing, recovery (default all).", array(of: enumeration(NotifySettings.Event.allCases.map(\.rawValue)))),
            "repeat_after": described("Report a job that keeps failing again every N failures in a row (default 10; 0: never).", integer(0...10_000)),
            "attempts": described("Attempts per message, the first included (default 5).", integer(1...100)),
            "backoff": described("Delays between attempts (default [10s, 1m, 5m, 30m]).", array(of: duration)),
        ], required: ["url"], description: "Failure notifications: a JSON message with a Slack-compatible 'text' when a job fails, keeps failing or recovers.")
    }

    // MARK: - schema/*.yml

    static func worksheet(_ types: inout TypeTable) -> JSONValue {
        let fieldType = described("The column's type.", enumeration(FieldType.allCases.map(\.rawValue)))
        let field = oneOf(fieldType, types.object("fields.NAME", keys: SchemaFileDecoder.fieldKeys, [
            "type": fieldType,
            "description": type("string"),
        ], required: ["type"]))
        return types.object("", keys: SchemaFileDecoder.rootKeys, [
            "worksheet": described("The table's name (default: the file's name).", type("string")),
            "description": type("string"),
            "key": described("The fields that identify a row.", array(of: type("string"))),
            "fields": described("Field name → type, or {type, description}.", map(of: field)),
        ], required: ["key", "fields"], description: "A sheetsync worksheet (schema/NAME.yml): one SQLite table.")
    }

    // MARK: - sheetsync.yml

    static func settings(_ types: inout TypeTable) -> JSONValue {
        let kept = described("How long to keep them: 30d, 12h, or forever.", duration)
        let retention = types.object("retention", keys: RetentionSettings.keys, [
            "requests": kept, "runs": kept, "rejects": kept, "deliveries": kept, "step_failures": kept, "notifications": kept,
        ])
        return types.object("", keys: SettingsFileDecoder.rootKeys, [
            "database": described("The SQLite file (relative to the project; its directory is created).", type("string")),
            "timezone": described("Default time zone of schedules (IANA name).", type("string")),
            "secrets_file": described("A file of NAME: value lines for {{secret.NAME}} (chmod 600).", type("string")),
            "env": described("Defaults for {{env.NAME}} when the environment does not set NAME.", templateMap),
            "proxy": types.object("proxy", keys: SettingsFileDecoder.proxyKeys, [
                "url": template, "username": template,
                "password": described("A {{secret.…}}.", template),
            ], required: ["url"]),
            "http": types.object("http", keys: SettingsFileDecoder.httpKeys, [
                "max_response_bytes": .object(JSONObject(["type": .array([.string("string"), .string("integer")])])),
                "user_agent": type("string"),
            ]),
            "retention": retention,
            "notify": notify(&types, context: "notify"),
        ], description: "sheetsync project settings (sheetsync.yml). Every key is optional.")
    }
}

/// Keys in first-seen order, without repeats.
private func uniqueKeys(_ keys: [String]) -> [String] {
    var seen = Set<String>()
    return keys.filter { seen.insert($0).inserted }
}
