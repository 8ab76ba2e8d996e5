import SheetSyncCore

/// What started a run.
public enum RunTrigger: String, Sendable, CaseIterable {
    case cli, schedule, backfill, demo
    /// Run again at once by a node that took the job over from a node that stopped
    /// heartbeating (several `serve` nodes on PostgreSQL).
    case takeover
}

/// How a run ended.
public enum RunStatus: String, Sendable {
    case running
    /// Everything arrived and was stored.
    case succeeded
    /// Done, but some records were rejected or a step failed with `on_failure: continue`.
    case partial
    case failed
    /// A scheduled tick that did not run: the previous run was still going (`overlap: skip`).
    case skipped
    /// Stopped before its end: by a daemon's shutdown (after the page being written), or its
    /// process was killed and a later process noticed. A paginated run resumes there.
    case interrupted
}

/// One row of `_sheetsync_runs`.
public struct RunRecord: Sendable {
    public var id: Int64
    public var job: String
    public var trigger: String
    public var startedAt: String
    public var endedAt: String?
    public var status: String
    public var requests: Int
    public var inserted: Int
    public var updated: Int
    public var unchanged: Int
    /// Records `write: update` did not write (no row with their key), and their children.
    public var skipped: Int = 0
    public var rejected: Int
    public var deleted: Int
    public var errorCode: String?
    public var errorMessage: String?
    /// For a push job's run: deliveries by outcome (`delivered`, `failed`, `skipped`,
    /// `pending`), from its details; nil for pull runs, which count rows.
    public var deliveries: [(outcome: String, count: Int)]?

    public init(id: Int64, job: String, trigger: String, startedAt: String, endedAt: String?, status: String, requests: Int,
                inserted: Int, updated: Int, unchanged: Int, skipped: Int = 0, rejected: Int, deleted: Int,
                errorCode: String?, errorMessage: String?, deliveries: [(outcome: String, count: Int)]? = nil) {
        self.id = id
        self.job = job
        self.trigger = trigger
        self.startedAt = startedAt
        self.endedAt = endedAt
        self.status = status
        self.requests = requests
        self.inserted = inserted
        self.updated = updated
        self.unchanged = unchanged
        self.skipped = skipped
        self.rejected = rejected
        self.deleted = deleted
        self.errorCode = errorCode
        self.errorMessage = errorMessage
        self.deliveries = deliveries
    }

    /// A push run's deliveries as `history` and the status page show them
    /// (`delivered 50, failed 0, skipped 2, waiting 0`); nil for pull runs.
    public var deliveriesText: String? {
        deliveries.map { counts in counts.map { "\($0.outcome == "pending" ? "waiting" : $0.outcome) \($0.count)" }.joined(separator: ", ") }
    }

    /// The error as shown to people: `[code] message`, either part when present ("" for none).
    public var errorText: String {
        [errorCode.map { "[\($0)]" }, errorMessage].compactMap { $0 }.joined(separator: " ")
    }
}

/// Counts of one page or run, per worksheet.
public struct WriteCounts: Sendable, Equatable {
    public var byWorksheet: [String: UpsertCounts] = [:]
    public var rejected: [String: Int] = [:]
    public var deleted: [String: Int] = [:]

    public init() {}

    public var inserted: Int { byWorksheet.values.reduce(0) { $0 + $1.inserted } }
    public var updated: Int { byWorksheet.values.reduce(0) { $0 + $1.updated } }
    public var unchanged: Int { byWorksheet.values.reduce(0) { $0 + $1.unchanged } }
    public var skipped: Int { byWorksheet.values.reduce(0) { $0 + $1.skipped } }
    public var rejectedTotal: Int { rejected.values.reduce(0, +) }
    public var deletedTotal: Int { deleted.values.reduce(0, +) }

    public static func += (lhs: inout WriteCounts, rhs: WriteCounts) {
        for (name, counts) in rhs.byWorksheet { lhs.byWorksheet[name, default: UpsertCounts()] += counts }
        for (name, count) in rhs.rejected { lhs.rejected[name, default: 0] += count }
        for (name, count) in rhs.deleted { lhs.deleted[name, default: 0] += count }
    }

    /// Per-worksheet counts as JSON, for `_sheetsync_runs.details`.
    public var json: JSONValue {
        let names = Set(byWorksheet.keys).union(rejected.keys).union(deleted.keys).sorted()
        return .object(JSONObject(names.map { name in
            let counts = byWorksheet[name] ?? UpsertCounts()
            return JSONObject.Member(key: name, value: .object(JSONObject([
                "inserted": .number(String(counts.inserted)), "updated": .number(String(counts.updated)),
                "unchanged": .number(String(counts.unchanged)), "skipped": .number(String(counts.skipped)), "rejected": .number(String(rejected[name] ?? 0)),
                "deleted": .number(String(deleted[name] ?? 0)),
            ])))
        }))
    }
}
