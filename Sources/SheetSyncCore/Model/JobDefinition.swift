/// A job, decoded from `jobs/<name>.yml`; the file name is the job name.
public struct JobDefinition: Sendable, Hashable {
    /// What the job does.
    public enum Kind: Sendable, Hashable {
        case pull(PullJob)
        case push(PushJob)

        public var name: String {
            switch self {
            case .pull: "pull"
            case .push: "push"
            }
        }
    }

    public var name: String
    public var kind: Kind
    /// The worksheet the job writes (pull) or reads (push).
    public var worksheet: String
    /// Cron expression, `@hourly`-style macro or `@every 5m`; `nil` runs only on demand.
    public var schedule: String?
    /// IANA time zone for `schedule`; `nil` uses sheetsync.yml's, else UTC.
    public var timezone: String?
    public var description: String?
    /// Default values for `{{param.x}}`, overridden by `--param x=…`.
    public var params: [String: String]
    /// What the scheduler does when a tick comes while the previous run still goes.
    public var overlap: OverlapPolicy = .skip
    /// What the scheduler does with ticks that passed while it was not running.
    public var missed: MissedPolicy = .once
    /// With `missed: all`, at most this many catch-up runs.
    public var maxCatchup = 100
    /// `notify:` of the job: the project's (default), none, or its own.
    public var notify: JobNotify = .project
    /// The file the job came from, relative to the project.
    public var file: String

    public init(name: String, kind: Kind, worksheet: String, schedule: String? = nil, timezone: String? = nil,
                description: String? = nil, params: [String: String] = [:], file: String) {
        self.name = name
        self.kind = kind
        self.worksheet = worksheet
        self.schedule = schedule
        self.timezone = timezone
        self.description = description
        self.params = params
        self.file = file
    }

    /// The main request of the job.
    public var request: HTTPRequestSpec {
        switch kind {
        case .pull(let pull): pull.request
        case .push(let push): push.request
        }
    }

    /// Every template of every request of the job (main request and steps).
    public var allTemplates: [Template] {
        switch kind {
        case .pull(let pull): pull.request.templates + pull.steps.flatMap(\.request.templates) + pull.fieldTemplates
        case .push(let push): push.request.templates + (push.delivery.signingSecret.map { [$0] } ?? [])
        }
    }
}

/// Where a worksheet field takes its value from.
///
/// - a JSON path into the record: `total: "$.amount.value"` (and `$parent.NAME`,
///   `$parent_json.…` in children, `$response.status` / `$response.headers.NAME` for the
///   response that carried the record);
/// - a template of values known for the whole run: `ip: "{{param.ip}}"`,
///   `day: "{{window.start}}"`, `region: "{{env.REGION}}"` — never `{{secret.…}}`, so a
///   secret cannot end up in a worksheet;
/// - a constant: `source: {value: "shop"}`.
///
/// Every value is converted to the field's type like a value from the response.
public struct FieldMapping: Sendable, Hashable {
    public enum Source: Sendable, Hashable {
        case path(JSONPath)
        /// Rendered once per run (`PullJob.resolvingTemplates`) into a `.constant`.
        case template(Template)
        case constant(JSONValue)
    }

    public var field: String
    public var source: Source

    public init(field: String, path: JSONPath) {
        self.field = field
        self.source = .path(path)
    }

    public init(field: String, source: Source) {
        self.field = field
        self.source = source
    }

    /// The JSON path, when the field comes from one.
    public var path: JSONPath? {
        if case .path(let path) = source { return path }
        return nil
    }

    /// The source as the job file wrote it, for messages.
    public var sourceText: String {
        switch source {
        case .path(let path): path.text
        case .template(let template): template.text
        case .constant(let value): "value: \(value.jsonText)"
        }
    }

    /// True when this field is `$parent.NAME` for the parent's field `name`.
    public func isParentField(_ name: String) -> Bool {
        guard let path, path.root == .parent else { return false }
        return path.components == [.member(name)]
    }
}

/// A pull job: request → Get Multiple Data → upsert into a worksheet.
public struct PullJob: Sendable, Hashable {
    public var request: HTTPRequestSpec
    public var paginate: PaginationSpec?
    /// The array (or object) in the response that becomes rows. Default `$`.
    public var records: JSONPath
    /// Fields that identify a record; default the worksheet's key.
    public var key: [String]?
    public var fields: [FieldMapping]
    public var children: [ChildMapping]
    public var incremental: IncrementalSpec?
    /// Extra requests: before the main one, or once per record.
    public var steps: [RequestStep]
    /// `write:`: insert and update (default), insert new keys only, or update existing keys only.
    public var write: WriteMode = .upsert
    /// `skip_unchanged:`: skip records unchanged since the last sync by their digest (off by
    /// default: the guards cost first loads and changed records more than they save today;
    /// see README "Re-syncs skip unchanged records").
    public var skipUnchanged = false

    public init(request: HTTPRequestSpec, paginate: PaginationSpec? = nil, records: JSONPath, key: [String]? = nil,
                fields: [FieldMapping], children: [ChildMapping] = [], incremental: IncrementalSpec? = nil, steps: [RequestStep] = []) {
        self.request = request
        self.paginate = paginate
        self.records = records
        self.key = key
        self.fields = fields
        self.children = children
        self.incremental = incremental
        self.steps = steps
    }

    /// Every child mapping at every depth, each before its own children (the order of a
    /// page's `ChildRows`).
    public var allChildren: [ChildMapping] { children.flatMap { [$0] + $0.allChildren } }

    /// Every field mapping of the job and its children at any depth.
    public var allFieldMappings: [FieldMapping] { fields + allChildren.flatMap(\.fields) }

    /// The templates field sources are made from (`ip: "{{param.ip}}"`).
    public var fieldTemplates: [Template] {
        allFieldMappings.compactMap { mapping in
            if case .template(let template) = mapping.source { return template }
            return nil
        }
    }

    /// The member names of `records` when a response's records can be streamed out of
    /// its bytes instead of reading the whole tree: `records` is a chain of members and
    /// no pagination path reads inside the records.
    public var streamedRecordsChain: [String]? {
        guard let chain = records.memberChain else { return nil }
        let prefix = chain.map { JSONPath.Component.member($0) }
        let bodyPaths = [paginate?.next, paginate?.hasMore, paginate?.total, paginate?.totalPages].compactMap { $0 }
        if bodyPaths.contains(where: { $0.root == .current && $0.components.starts(with: prefix) }) { return nil }
        return chain
    }

    /// Whether `skip_unchanged` can skip this job's records: they are streamed (each
    /// record's bytes are digested), its children have no children of their own (the
    /// store's guards cover one level) and no per-record step adds fields after the mapping.
    public var canSkipUnchangedRecords: Bool {
        perRecordSteps.isEmpty && children.allSatisfy(\.children.isEmpty) && streamedRecordsChain != nil
    }

    /// True when a field reads the response's status or headers (`$response.…`): a
    /// response without a body then still gives one row.
    public var readsResponseMetadata: Bool {
        allFieldMappings.contains { $0.path?.root == .response }
    }

    /// The job with each template field source rendered by `render` into a constant:
    /// templates name values fixed for the whole run (params, window, env).
    public func resolvingTemplates<E: Error>(_ render: (Template) throws(E) -> JSONValue) throws(E) -> PullJob {
        var job = self
        job.fields = try FieldMapping.resolving(fields, render)
        job.children = try children.map { child throws(E) in try child.resolvingTemplates(render) }
        return job
    }

    /// Steps that run once, before the main request.
    public var setupSteps: [RequestStep] { steps.filter { !$0.perRecord } }
    /// Steps that run once per record.
    public var perRecordSteps: [RequestStep] { steps.filter(\.perRecord) }
}

/// Nested arrays of each record that become rows of a child worksheet.
///
/// `$parent.NAME` in `fields` is the value of field `NAME` of the parent row (after
/// conversion), so a child links to its parent whatever the JSON calls the key;
/// `$parent_json.…` reads the parent record's JSON. A child may have children of its
/// own, to any depth: each level's parent is the level above.
public struct ChildMapping: Sendable, Hashable {
    public var worksheet: String
    public var records: JSONPath
    public var fields: [FieldMapping]
    /// Arrays inside each child record that become rows of a grandchild worksheet.
    public var children: [ChildMapping]
    /// `write:` of this level. A job file's child without one takes its parent's mode.
    public var write: WriteMode = .upsert

    public init(worksheet: String, records: JSONPath, fields: [FieldMapping], children: [ChildMapping] = []) {
        self.worksheet = worksheet
        self.records = records
        self.fields = fields
        self.children = children
    }

    /// This mapping's children at every depth, each before its own children.
    public var allChildren: [ChildMapping] { children.flatMap { [$0] + $0.allChildren } }

    func resolvingTemplates<E: Error>(_ render: (Template) throws(E) -> JSONValue) throws(E) -> ChildMapping {
        var child = self
        child.fields = try FieldMapping.resolving(fields, render)
        child.children = try children.map { grandchild throws(E) in try grandchild.resolvingTemplates(render) }
        return child
    }
}

extension FieldMapping {
    static func resolving<E: Error>(_ mappings: [FieldMapping], _ render: (Template) throws(E) -> JSONValue) throws(E) -> [FieldMapping] {
        try mappings.map { mapping throws(E) in
            guard case .template(let template) = mapping.source else { return mapping }
            return FieldMapping(field: mapping.field, source: .constant(try render(template)))
        }
    }
}

/// Incremental sync: only fetch what changed since the saved cursor.
public struct IncrementalSpec: Sendable, Hashable {
    /// Where each record's cursor value sits (`$.updated_at`).
    public var cursor: JSONPath
    /// The cursor used before anything is saved.
    public var start: String?
    /// A window re-read on each run for late-arriving records.
    public var lookback: Duration?

    public init(cursor: JSONPath, start: String? = nil, lookback: Duration? = nil) {
        self.cursor = cursor
        self.start = start
        self.lookback = lookback
    }
}

/// How a pull job walks through pages. Stop rules combine: the first that holds ends the run.
public struct PaginationSpec: Sendable, Hashable {
    public enum Style: String, Sendable, CaseIterable {
        case page, offset, cursor, nextURL = "next_url", linkHeader = "link_header"
    }

    /// Where a cursor token is sent back.
    public enum TokenLocation: String, Sendable, CaseIterable {
        case query, header, body
    }

    public var style: Style
    /// The query (or body) parameter carrying the page number, offset or cursor.
    public var param: String?
    /// First page number or offset (default 1 for `page`, 0 for `offset`).
    public var start: Int?
    /// Parameter name and value for the page size, if the API takes one.
    public var sizeParam: String?
    public var size: Int?
    /// For `cursor`: where the next token sits in the body. For `next_url`: where the next URL sits.
    public var next: JSONPath?
    public var location: TokenLocation
    /// Stop when this path is false.
    public var hasMore: JSONPath?
    /// Stop when this many records (or pages, with `total_pages`) have been fetched.
    public var total: JSONPath?
    public var totalPages: JSONPath?
    public var maxPages: Int
    public var stopOnEmpty: Bool
    /// A page shorter than `size` is the last one (off by default: many APIs return short pages mid-way).
    public var stopOnShortPage: Bool
    public var delay: Duration?
    public var requestsPerSecond: Double?
    /// For `next_url` and `link_header`: origins other than the job's own that a next-page
    /// URL may point at. Credential headers are never sent to them.
    public var allowOrigins: [Origin] = []
    /// What a run does when the saved resume position of an interrupted run is refused.
    public var onStaleResume: StaleResumePolicy = .fail

    /// `paginate.on_stale_resume`: the page an interrupted run saved to resume at is
    /// answered with a 4xx (other than 401, 403, 407 and 429: those say nothing about the
    /// position) — a cursor token or next URL the server has expired.
    public enum StaleResumePolicy: String, Sendable, CaseIterable {
        /// The run fails, naming the saved position and how to start over.
        case fail
        /// The run forgets the position and starts over from the first page.
        case restart
    }

    public static let defaultMaxPages = 10_000

    public init(style: Style, param: String? = nil, start: Int? = nil, sizeParam: String? = nil, size: Int? = nil,
                next: JSONPath? = nil, location: TokenLocation = .query, hasMore: JSONPath? = nil, total: JSONPath? = nil,
                totalPages: JSONPath? = nil, maxPages: Int = PaginationSpec.defaultMaxPages, stopOnEmpty: Bool = true,
                stopOnShortPage: Bool = false, delay: Duration? = nil, requestsPerSecond: Double? = nil) {
        self.style = style
        self.param = param
        self.start = start
        self.sizeParam = sizeParam
        self.size = size
        self.next = next
        self.location = location
        self.hasMore = hasMore
        self.total = total
        self.totalPages = totalPages
        self.maxPages = maxPages
        self.stopOnEmpty = stopOnEmpty
        self.stopOnShortPage = stopOnShortPage
        self.delay = delay
        self.requestsPerSecond = requestsPerSecond
    }
}

/// `overlap:` in a job file.
public enum OverlapPolicy: String, Sendable, Hashable, CaseIterable {
    /// A run still going → this tick is skipped (and recorded).
    case skip
    /// Run once more when the current run ends.
    case queue
    /// Start another run alongside.
    case allow
}

/// `missed:` in a job file.
public enum MissedPolicy: String, Sendable, Hashable, CaseIterable {
    /// Forget ticks that passed while the daemon was down.
    case skip
    /// One catch-up run if any tick was missed.
    case once
    /// One run per missed tick, up to `max_catchup`.
    case all

    /// How many catch-up runs for `missed` ticks.
    public func catchUpRuns(missed: Int, cap: Int) -> Int {
        switch self {
        case .skip: 0
        case .once: missed > 0 ? 1 : 0
        case .all: min(missed, cap)
        }
    }
}
