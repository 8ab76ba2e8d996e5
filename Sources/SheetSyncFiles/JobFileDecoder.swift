import Foundation
import SheetSyncCore
import Yams

/// Decodes `jobs/<name>.yml` into a `JobDefinition`, checking it against the
/// project's worksheets, environment and secrets. Every problem is reported with
/// its position; decoding carries on past errors so that one pass finds them all.
struct JobFileDecoder {
    static let commonKeys = ["kind", "description", "worksheet", "schedule", "timezone", "params", "request", "overlap", "missed", "max_catchup", "notify"]
    static let pullKeys = commonKeys + ["paginate", "records", "key", "fields", "children", "incremental", "steps", "write", "skip_unchanged"]
    static let pushKeys = commonKeys + ["when", "on", "fields", "delivery", "write_back"]
    // The keys of each nested mapping: `ConfigSchema` builds the editors' JSON Schema from
    // these same lists, so a key the loader accepts is one the schema knows.
    static let incrementalKeys = ["cursor", "start", "lookback"]
    static let stepKeys = ["name", "per_record", "concurrency", "request", "values", "fields", "inherit_headers"]
    static let childKeys = ["worksheet", "records", "fields", "children", "write"]
    static let deliveryKeys = ["attempts", "backoff", "batch_size", "concurrency", "signing_secret"]
    static let paginateKeys = ["style", "param", "start", "size_param", "size", "next", "in", "has_more", "total", "total_pages",
                               "max_pages", "stop_on_empty", "stop_on_short_page", "delay", "requests_per_second", "allow_origins", "on_stale_resume"]

    /// What the decoder checks references against.
    struct Context {
        var worksheets: [String: WorksheetDefinition]
        /// Worksheets whose schema file has errors, by name, with the file: a job naming one
        /// is told so (it was told the worksheet "is not defined").
        var brokenWorksheets: [String: String] = [:]
        /// Is `{{env.X}}` resolvable (environment or sheetsync.yml `env:`)?
        var hasEnv: (String) -> Bool
        /// Is `{{secret.X}}` resolvable (environment or secrets file)?
        var hasSecret: (String) -> Bool
        var secretsFileName: String?
        /// Why a push job's `when` cannot run against its worksheet (nil: it can); nil when
        /// the loader was given no SQL checker.
        var conditionProblem: ProjectLoader.ConditionChecker?
        /// Secrets the proxy of sheetsync.yml names that are not set: a warning on each
        /// request with `proxy: true`, the only ones that need them.
        var unsetProxySecrets: [String] = []
        /// `sheetsync infer` reads a job whose worksheets have no schema file yet: then
        /// a worksheet that is not defined is no error (and its fields are not checked).
        var allowsUndefinedWorksheets = false
    }

    let reader: NodeReader
    let context: Context
    var sink: DiagnosticSink { reader.sink }

    init(sink: DiagnosticSink, context: Context) {
        self.reader = NodeReader(sink: sink)
        self.context = context
    }

    func decode(_ text: String, name: String) -> JobDefinition? {
        guard let root = sink.compose(text) else {
            if !sink.hasErrors { sink.error("the file is empty; a job needs at least 'kind', 'worksheet' and 'request'", at: nil) }
            return nil
        }
        // Read the kind first: it decides which keys are allowed.
        var kindName: String?
        if let pairs = root.mapping, let node = pairs["kind"] {
            kindName = reader.enumValue(node, "kind", as: KindName.self)?.rawValue
        }
        let allowed = kindName == "pull" ? Self.pullKeys : kindName == "push" ? Self.pushKeys : Array(Set(Self.pullKeys + Self.pushKeys)).sorted()
        guard let mapping = reader.mapping(root, context: "", allowed: allowed) else { return nil }
        if mapping.value("kind") == nil {
            sink.error("missing required key 'kind' (expected 'pull' or 'push')", at: root.mark)
        }

        var worksheet: WorksheetDefinition?
        var worksheetName = ""
        if let node = reader.required("worksheet", in: mapping), let value = reader.string(node, "worksheet") {
            worksheetName = value
            worksheet = context.worksheets[value]
            if worksheet == nil, !context.allowsUndefinedWorksheets, let file = context.brokenWorksheets[value] {
                sink.error("worksheet '\(value)' could not be read: \(file) has errors (listed with that file); fix them, and this job's fields are checked against it", at: node.mark)
            } else if worksheet == nil, !context.allowsUndefinedWorksheets {
                let known = context.worksheets.keys.sorted()
                let hint = known.isEmpty ? " (no worksheets are defined: add schema/\(value).yml)" : Suggestion.didYouMean(value, in: known)
                sink.error("worksheet '\(value)' is not defined in schema/\(hint)", at: node.mark)
            }
        }
        let description = mapping.value("description").flatMap { reader.string($0, "description") }
        var schedule: String?
        if let node = mapping.value("schedule"), let text = reader.string(node, "schedule") {
            do {
                _ = try CronExpression(parsing: text)
                schedule = text
            } catch {
                reader.error(error, in: node)
            }
        }
        var timezone: String?
        if let node = mapping.value("timezone"), let value = reader.string(node, "timezone") {
            if TimeZone(identifier: value) == nil {
                sink.error("unknown time zone '\(value)'; use an IANA name such as 'Europe/Berlin' or 'UTC'", at: node.mark)
            } else {
                timezone = value
            }
        }
        var params: [String: String] = [:]
        if let node = mapping.value("params"), let pairs = node.mapping {
            for (key, value) in pairs {
                if let k = key.scalar?.string, let v = reader.string(value, "params.\(k)") { params[k] = v }
            }
        } else if let node = mapping.value("params") {
            sink.error("expected a mapping of parameter names to default values for 'params', found \(reader.describe(node))", at: node.mark)
        }

        let isPush = kindName == "push"
        var scope = TemplateScope(kind: isPush ? .push : .pull, worksheet: worksheet, paginated: mapping.has("paginate"))
        var steps: [RequestStep] = []
        if !isPush, let node = mapping.value("steps") {
            steps = decodeSteps(node, scope: &scope, worksheet: worksheet, mainFields: mapping.value("fields"))
        }
        let request = reader.required("request", in: mapping).flatMap { decodeRequest($0, scope: scope, isPush: isPush) }
        if let request {
            // Per-record steps send the job's headers too (same origin only): merged here, so
            // that running, redacting and validating see one request per step.
            for index in steps.indices {
                steps[index].request.headers = steps[index].inheritedHeaders(from: request) + steps[index].request.headers
            }
        }

        let kind: JobDefinition.Kind?
        switch kindName {
        case "pull": kind = decodePull(mapping, request: request, worksheet: worksheet, scope: scope, steps: steps)
        case "push": kind = decodePush(mapping, request: request, worksheet: worksheet)
        default: kind = nil
        }
        let overlap = mapping.value("overlap").flatMap { reader.enumValue($0, "overlap", as: OverlapPolicy.self) }
        let missed = mapping.value("missed").flatMap { reader.enumValue($0, "missed", as: MissedPolicy.self) }
        let maxCatchup = mapping.value("max_catchup").flatMap { reader.int($0, "max_catchup", range: 1...10_000) }
        var notify = JobNotify.project
        if let n = mapping.value("notify") {
            if n.scalar != nil {
                if let on = reader.bool(n, "notify") { notify = on ? .project : .off }
            } else if let settings = reader.notify(n, "notify") {
                notify = .custom(settings)
            }
        }
        guard let kind, !sink.hasErrors else { return nil }
        var job = JobDefinition(name: name, kind: kind, worksheet: worksheetName, schedule: schedule, timezone: timezone,
                                description: description, params: params, file: sink.file)
        if let overlap { job.overlap = overlap }
        if let missed { job.missed = missed }
        if let maxCatchup { job.maxCatchup = maxCatchup }
        job.notify = notify
        return job
    }

    enum KindName: String, CaseIterable { case pull, push }

    // MARK: - Pull

    private func decodePull(_ mapping: NodeReader.Mapping, request: HTTPRequestSpec?, worksheet: WorksheetDefinition?,
                            scope: TemplateScope, steps: [RequestStep]) -> JobDefinition.Kind? {
        let records = mapping.value("records").flatMap { reader.jsonPath($0, "records") } ?? JSONPath(components: [], text: "$")
        var key: [String]?
        if let node = mapping.value("key"), let names = reader.stringList(node, "key") {
            key = names
            if let worksheet {
                for name in names where worksheet.field(named: name) == nil {
                    sink.error("key field '\(name)' is not in worksheet '\(worksheet.name)'\(Suggestion.didYouMean(name, in: worksheet.fields.map(\.name)))", at: node.mark)
                }
            }
        }
        var fields: [FieldMapping] = []
        if let node = mapping.value("fields") {
            fields = decodeFieldMappings(node, context: "fields", worksheet: worksheet, allowParent: false, allowValues: true, scope: scope)
        } else if let worksheet {
            // No mapping: each field comes from the member of the same name (except those per-record steps fill).
            let stepFields = Set(steps.flatMap(\.fields).map(\.field))
            fields = worksheet.fields.filter { !stepFields.contains($0.name) }
                .map { FieldMapping(field: $0.name, path: JSONPath(components: [.member($0.name)])) }
        }
        if let worksheet {
            let mapped = Set(fields.map(\.field))
            let keyNames = key ?? worksheet.key
            for name in keyNames where !mapped.contains(name) && worksheet.field(named: name) != nil {
                sink.error("key field '\(name)' of worksheet '\(worksheet.name)' is not mapped in 'fields'; every row needs its key", at: mapping.keyNode("fields")?.mark ?? mapping.node.mark)
            }
        }
        let write = mapping.value("write").flatMap { reader.enumValue($0, "write", as: WriteMode.self) } ?? .upsert
        var children: [ChildMapping] = []
        if let node = mapping.value("children") {
            if let items = node.sequence {
                children = items.compactMap { decodeChild($0, parent: worksheet, parentFields: fields.map(\.field), scope: scope, write: write) }
            } else {
                sink.error("expected a list for 'children', found \(reader.describe(node))", at: node.mark)
            }
        }
        var incremental: IncrementalSpec?
        if let node = mapping.value("incremental"), let map = reader.mapping(node, context: "incremental", allowed: Self.incrementalKeys) {
            let cursor = reader.required("cursor", in: map).flatMap { reader.jsonPath($0, "incremental.cursor") }
            let start = map.value("start").flatMap { reader.string($0, "incremental.start") }
            let lookback = map.value("lookback").flatMap { reader.duration($0, "incremental.lookback") }
            if let cursor { incremental = IncrementalSpec(cursor: cursor, start: start, lookback: lookback) }
        }
        let paginate = mapping.value("paginate").flatMap(decodePagination)
        guard let request else { return nil }
        if request.method == .HEAD {
            checkHeadJob(fields: fields, paginate: paginate, mapping: mapping)
        }
        var pull = PullJob(request: request, paginate: paginate, records: records, key: key, fields: fields,
                           children: children, incremental: incremental, steps: steps)
        pull.write = write
        if let node = mapping.value("skip_unchanged"), let skip = reader.bool(node, "skip_unchanged") {
            pull.skipUnchanged = skip
            if skip, !pull.canSkipUnchangedRecords {
                sink.warning("'skip_unchanged' has no effect here: records are skipped only for jobs whose 'records' is a chain of members that pagination does not read inside (such as '$.data'), whose children have no children of their own and that have no per_record steps; every record is compared", at: mapping.keyNode("skip_unchanged")?.mark)
            }
        }
        return .pull(pull)
    }

    private func decodeSteps(_ node: Node, scope: inout TemplateScope, worksheet: WorksheetDefinition?, mainFields: Node?) -> [RequestStep] {
        guard let items = node.sequence else {
            sink.error("expected a list of steps for 'steps', found \(reader.describe(node))", at: node.mark)
            return []
        }
        let mainFieldNames = Set(mainFields?.mapping?.keys.compactMap { $0.scalar?.string } ?? [])
        var steps: [RequestStep] = []
        var names = Set<String>()
        for item in items {
            guard let map = reader.mapping(item, context: "steps", allowed: Self.stepKeys),
                  let nameNode = reader.required("name", in: map), let name = reader.string(nameNode, "steps.name") else { continue }
            guard WorksheetDefinition.isValidName(name), names.insert(name).inserted else {
                sink.error(names.contains(name) ? "a step named '\(name)' already exists; step names must be unique" : "invalid step name '\(name)'; use letters, digits and '_'", at: nameNode.mark)
                continue
            }
            let perRecord = map.value("per_record").flatMap { reader.bool($0, "steps.per_record") } ?? false
            var stepScope = scope
            stepScope.recordIsSource = perRecord
            guard let requestNode = reader.required("request", in: map),
                  let request = decodeRequest(requestNode, scope: stepScope, isPush: false) else { continue }
            let values = map.value("values").map { decodeStepValues($0, context: "steps.\(name).values") } ?? []
            var fields: [FieldMapping] = []
            if let fieldsNode = map.value("fields") {
                if !perRecord {
                    sink.error("'fields' fills worksheet fields once per record and needs 'per_record: true'; a setup step extracts 'values' instead", at: map.keyNode("fields")?.mark)
                } else {
                    fields = decodeFieldMappings(fieldsNode, context: "steps.\(name).fields", worksheet: worksheet, allowParent: false)
                    for field in fields where mainFieldNames.contains(field.field) {
                        sink.error("field '\(field.field)' is filled by step '\(name)' and also mapped in 'fields'; map it in one place", at: fieldsNode.mark)
                    }
                }
            } else if perRecord {
                sink.error("per_record step '\(name)' needs 'fields': the worksheet fields it fills from its response", at: map.node.mark)
            }
            if perRecord, map.has("values") {
                sink.error("a per_record step fills 'fields'; 'values' are for setup steps that run once", at: map.keyNode("values")?.mark)
            }
            let concurrency = map.value("concurrency").flatMap { reader.int($0, "steps.concurrency", range: 1...64) } ?? RequestStep.defaultConcurrency
            var step = RequestStep(name: name, perRecord: perRecord, request: request, values: values, fields: fields, concurrency: concurrency)
            if let node = map.value("inherit_headers"), let inherits = reader.bool(node, "steps.inherit_headers") {
                if !perRecord { sink.error("'inherit_headers' is for per_record steps; a setup step sends only its own headers", at: map.keyNode("inherit_headers")?.mark) }
                step.inheritsHeaders = inherits
            }
            steps.append(step)
            if !perRecord { scope.steps[name] = values.map(\.field) }
        }
        return steps
    }

    private func decodeStepValues(_ node: Node, context: String) -> [FieldMapping] {
        guard let pairs = node.mapping else {
            sink.error("expected a mapping of value names to JSON paths for '\(context)', found \(reader.describe(node))", at: node.mark)
            return []
        }
        return pairs.compactMap { key, value in
            guard let name = key.scalar?.string, let path = reader.jsonPath(value, "\(context).\(name)") else { return nil }
            return FieldMapping(field: name, path: path)
        }
    }

    /// One entry of `children` (and, inside it, its own `children`): `parent` is the
    /// worksheet of the level above and `parentFields` the fields its mapping fills. A
    /// child without `write` takes `write`, its parent's mode.
    private func decodeChild(_ node: Node, parent: WorksheetDefinition?, parentFields: [String], scope: TemplateScope, write inherited: WriteMode) -> ChildMapping? {
        guard let map = reader.mapping(node, context: "children", allowed: Self.childKeys) else { return nil }
        let write = map.value("write").flatMap { reader.enumValue($0, "children.write", as: WriteMode.self) } ?? inherited
        var worksheet: WorksheetDefinition?
        var name = ""
        if let wsNode = reader.required("worksheet", in: map), let value = reader.string(wsNode, "children.worksheet") {
            name = value
            worksheet = context.worksheets[value]
            if worksheet == nil, !context.allowsUndefinedWorksheets {
                sink.error("worksheet '\(value)' is not defined in schema/\(Suggestion.didYouMean(value, in: context.worksheets.keys.sorted()))", at: wsNode.mark)
            }
        }
        let records = reader.required("records", in: map).flatMap { reader.jsonPath($0, "children.records") }
        let fields = reader.required("fields", in: map).map {
            decodeFieldMappings($0, context: "children.fields", worksheet: worksheet, allowParent: true, parent: parent.map { ($0, parentFields) },
                                allowValues: true, scope: scope)
        } ?? []
        if let parent, worksheet != nil, let fieldsNode = map.value("fields") {
            for keyField in parent.key where !fields.contains(where: { $0.isParentField(keyField) }) {
                sink.error("children in '\(name)' must map '\(parent.name)' key field '\(keyField)' from the parent, such as '\(parent.name.hasSuffix("s") ? String(parent.name.dropLast()) : parent.name)_\(keyField): $parent.\(keyField)'; it links each row to its parent", at: fieldsNode.mark)
            }
        }
        var children: [ChildMapping] = []
        if let node = map.value("children") {
            if let items = node.sequence {
                children = items.compactMap { decodeChild($0, parent: worksheet, parentFields: fields.map(\.field), scope: scope, write: write) }
            } else {
                sink.error("expected a list for 'children', found \(reader.describe(node))", at: node.mark)
            }
        }
        guard let records else { return nil }
        var child = ChildMapping(worksheet: name, records: records, fields: fields, children: children)
        child.write = write
        return child
    }

    private func decodePagination(_ node: Node) -> PaginationSpec? {
        guard let map = reader.mapping(node, context: "paginate", allowed: Self.paginateKeys),
              let styleNode = reader.required("style", in: map, hint: " (page, offset, cursor, next_url or link_header)"),
              let style = reader.enumValue(styleNode, "paginate.style", as: PaginationSpec.Style.self) else { return nil }
        var spec = PaginationSpec(style: style)
        spec.param = map.value("param").flatMap { reader.string($0, "paginate.param") }
        spec.start = map.value("start").flatMap { reader.int($0, "paginate.start") }
        spec.sizeParam = map.value("size_param").flatMap { reader.string($0, "paginate.size_param") }
        spec.size = map.value("size").flatMap { reader.int($0, "paginate.size", range: 1...1_000_000) }
        spec.next = map.value("next").flatMap { reader.jsonPath($0, "paginate.next") }
        if let n = map.value("in"), let location = reader.enumValue(n, "paginate.in", as: PaginationSpec.TokenLocation.self) { spec.location = location }
        spec.hasMore = map.value("has_more").flatMap { reader.jsonPath($0, "paginate.has_more") }
        spec.total = map.value("total").flatMap { reader.jsonPath($0, "paginate.total") }
        spec.totalPages = map.value("total_pages").flatMap { reader.jsonPath($0, "paginate.total_pages") }
        if let n = map.value("max_pages"), let value = reader.int(n, "paginate.max_pages", range: 1...10_000_000) { spec.maxPages = value }
        if let n = map.value("stop_on_empty"), let value = reader.bool(n, "paginate.stop_on_empty") { spec.stopOnEmpty = value }
        if let n = map.value("stop_on_short_page"), let value = reader.bool(n, "paginate.stop_on_short_page") { spec.stopOnShortPage = value }
        spec.delay = map.value("delay").flatMap { reader.duration($0, "paginate.delay") }
        spec.requestsPerSecond = map.value("requests_per_second").flatMap { reader.double($0, "paginate.requests_per_second") }
        if let n = map.value("on_stale_resume"), let value = reader.enumValue(n, "paginate.on_stale_resume", as: PaginationSpec.StaleResumePolicy.self) {
            spec.onStaleResume = value
        }
        if let node = map.value("allow_origins"), let entries = reader.stringList(node, "paginate.allow_origins") {
            for entry in entries {
                guard let origin = Origin(url: entry), URL(string: entry).map({ $0.path.isEmpty || $0.path == "/" }) ?? false,
                      URL(string: entry)?.query == nil else {
                    sink.error("'\(entry)' in paginate.allow_origins is not an origin; write scheme, host and optional port, such as 'https://api2.example.com' or 'http://127.0.0.1:8080'", at: node.mark)
                    continue
                }
                spec.allowOrigins.append(origin)
            }
            if style != .nextURL, style != .linkHeader {
                sink.error("paginate.allow_origins applies to next_url and link_header pagination only; remove it", at: node.mark)
            }
        }
        switch style {
        case .cursor, .nextURL:
            if spec.next == nil {
                sink.error("paginate style '\(style.rawValue)' needs 'next', the JSON path of the next \(style == .cursor ? "token" : "URL") in the response", at: map.node.mark)
            }
            if style == .cursor, spec.param == nil, spec.location != .header {
                sink.error("paginate style 'cursor' needs 'param', the name the token is sent back as", at: map.node.mark)
            }
        case .page, .offset:
            if spec.param == nil { spec.param = style == .page ? "page" : "offset" }
            if spec.start == nil { spec.start = style == .page ? 1 : 0 }
            if style == .offset, spec.size == nil {
                sink.error("paginate style 'offset' needs 'size', the number of records per page", at: map.node.mark)
            }
        case .linkHeader:
            break
        }
        return spec
    }

    // MARK: - Push

    /// A batch is one request for many records: its URL and headers cannot name one
    /// record, its body is a JSON array (of records or of the json template per record),
    /// and one response cannot be written back into many records.
    private func checkBatch(_ size: Int, request: HTTPRequestSpec, writeBack: Bool, at mark: Mark?) {
        let outsideBody = [request.url] + request.query.map(\.value) + request.headers.map(\.value)
        if outsideBody.contains(where: { $0.references.contains { $0.source == .record } }) {
            sink.error("'delivery.batch_size: \(size)' sends many records in one request, so the URL, query and headers cannot use '{{record.…}}'; use batch_size 1 or move the record's values into the body", at: mark)
        }
        switch request.body {
        case .raw?, .form?:
            sink.error("'delivery.batch_size: \(size)' sends a JSON array; use 'body: record' or a json body (one element per record), or batch_size 1", at: mark)
        default:
            break
        }
        if writeBack {
            sink.error("'write_back' maps one response into one record, and a batch's response answers \(size) records; use batch_size 1 with write_back", at: mark)
        }
    }

    private func decodePush(_ mapping: NodeReader.Mapping, request: HTTPRequestSpec?, worksheet: WorksheetDefinition?) -> JobDefinition.Kind? {
        let when = mapping.value("when").flatMap { reader.string($0, "when") }
        if let when, let worksheet, let node = mapping.value("when"), let problem = context.conditionProblem?(when, worksheet) {
            sink.error(problem, at: node.mark)
        }
        var on: [PushJob.Operation] = [.insert, .update]
        if let node = mapping.value("on") {
            let items = node.sequence.map(Array.init) ?? [node]
            on = items.compactMap { reader.enumValue($0, "on", as: PushJob.Operation.self) }
            if items.isEmpty { sink.error("'on' is empty; name at least one of insert, update, delete", at: node.mark) }
        }
        var fields: [String]?
        if let node = mapping.value("fields") {
            if node.mapping != nil {
                sink.error("'fields' of a push job is a list of the fields whose changes are sent, found a mapping", at: node.mark)
            } else if let names = reader.stringList(node, "fields") {
                fields = names
                if let worksheet {
                    for name in names where worksheet.field(named: name) == nil {
                        sink.error("field '\(name)' is not in worksheet '\(worksheet.name)'\(Suggestion.didYouMean(name, in: worksheet.fields.map(\.name)))", at: node.mark)
                    }
                }
            }
        }
        var delivery = DeliverySpec()
        if let node = mapping.value("delivery"),
           let map = reader.mapping(node, context: "delivery", allowed: Self.deliveryKeys) {
            if let n = map.value("attempts"), let value = reader.int(n, "delivery.attempts", range: 1...100) { delivery.attempts = value }
            if let n = map.value("backoff") {
                let items = n.sequence.map(Array.init) ?? [n]
                let delays = items.compactMap { reader.duration($0, "delivery.backoff") }
                if delays.count == items.count, !delays.isEmpty { delivery.backoff = delays }
            }
            if let n = map.value("batch_size"), let value = reader.int(n, "delivery.batch_size", range: 1...10_000) { delivery.batchSize = value }
            if let n = map.value("concurrency"), let value = reader.int(n, "delivery.concurrency", range: 1...256) { delivery.concurrency = value }
            if let n = map.value("signing_secret"), let template = reader.template(n, "delivery.signing_secret") {
                checkReferences(template, node: n, scope: TemplateScope(kind: .push, worksheet: worksheet, paginated: false))
                if template.references.allSatisfy({ $0.source != .secret }) {
                    sink.error("'delivery.signing_secret' must come from a secret, as in '{{secret.ERP_SIGNING_KEY}}'", at: n.mark)
                }
                delivery.signingSecret = template
            }
        }
        let writeBack = mapping.value("write_back").map { decodeFieldMappings($0, context: "write_back", worksheet: worksheet, allowParent: false) } ?? []
        guard var request else { return nil }
        if delivery.batchSize > 1 {
            checkBatch(delivery.batchSize, request: request, writeBack: !writeBack.isEmpty, at: mapping.value("delivery")?.mark)
        }
        if request.successCodes == nil { request.successCodes = [200] }
        if request.body == nil, request.method != .GET, request.method != .HEAD, request.method != .DELETE { request.body = .record }
        return .push(PushJob(when: when, on: on, fields: fields, request: request, delivery: delivery, writeBack: writeBack))
    }
}
