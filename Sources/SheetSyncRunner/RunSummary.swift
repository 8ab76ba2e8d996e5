import Foundation
import SheetSyncCore
import SheetSyncHTTP
import SheetSyncStore

/// What a run did, for the one-line summary, `history` and the exit code.
public struct RunSummary: Sendable {
    public var job: String
    public var run: Int64?
    public var status: RunStatus
    public var counts = WriteCounts()
    public var requests = 0
    public var records = 0
    public var duration: Duration = .zero
    public var errorCode: String?
    public var errorMessage: String?
    /// The HTTP status of the response that failed the run, when one did.
    public var errorStatus: Int?
    /// Worksheets in the order they should be reported (the job's first, then children).
    public var worksheets: [String] = []
    public var pages = 0
    /// The stop rule that ended a paginated run.
    public var stopReason: String?
    public var warnings: [String] = []
    /// Per-record step calls that failed with `on_failure: continue`.
    public var stepFailures = 0
    /// The incremental cursor after the run.
    public var cursor: String?

    /// What `_sheetsync_runs.details` keeps: counts per worksheet, pages, stop rule, warnings.
    public var details: JSONValue {
        var members: [JSONObject.Member] = [.init(key: "worksheets", value: counts.json), .init(key: "pages", value: .number(String(pages)))]
        if let stopReason { members.append(.init(key: "stop", value: .string(stopReason))) }
        if !warnings.isEmpty { members.append(.init(key: "warnings", value: .array(warnings.map(JSONValue.string)))) }
        if let cursor { members.append(.init(key: "cursor", value: .string(cursor))) }
        return .object(JSONObject(members))
    }

    public init(job: String, status: RunStatus) {
        self.job = job
        self.status = status
    }

    /// 0 succeeded, 1 failed, 2 partial (rejects, or a step that failed with `continue`).
    public var exitCode: Int32 {
        switch status {
        case .succeeded, .running, .skipped: 0
        case .partial: 2
        case .failed, .interrupted: 1
        }
    }

    /// The summary's first line (what happened) and its notes (the error, warnings, where
    /// the rejects are), for the command line: the first on standard output, the notes on
    /// standard error.
    public var headlineAndNotes: (headline: String, notes: String?) {
        let text = line
        guard let newline = text.firstIndex(of: "\n") else { return (text, nil) }
        return (String(text[..<newline]), String(text[text.index(after: newline)...]))
    }

    /// `shop-orders: succeeded in 0.42s, 1 request, 250 records; orders +250 ~0 =0; order_items +520 …`
    public var line: String {
        let seconds = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        var text = "\(job): \(status.rawValue) in \(String(format: "%.2f", seconds))s, \(requests) request\(requests == 1 ? "" : "s"), \(records) record\(records == 1 ? "" : "s")"
        if pages > 1 { text += " in \(pages) pages" }
        for name in worksheets {
            let c = counts.byWorksheet[name] ?? UpsertCounts()
            var part = "\(name): \(c.inserted) inserted, \(c.updated) updated, \(c.unchanged) unchanged"
            if c.skipped > 0 { part += ", \(c.skipped) skipped" }
            if let deleted = counts.deleted[name], deleted > 0 { part += ", \(deleted) removed" }
            if let rejected = counts.rejected[name], rejected > 0 { part += ", \(rejected) rejected" }
            text += "; " + part
        }
        if let run { text += " (run \(run))" }
        if let errorMessage { text += "\n  error: " + errorMessage }
        for warning in warnings { text += "\n  warning: " + warning }
        if counts.rejectedTotal > 0 {
            text += "\n  \(counts.rejectedTotal) record(s) rejected: see 'sheetsync query \"SELECT worksheet, reason FROM _sheetsync_rejects WHERE run_id = \(run ?? 0)\"'"
        }
        return text
    }
}

