import GRDB
import SheetSyncCore

/// A per-record step that failed for one record (with `on_failure: continue`).
public struct StepFailure: Sendable {
    public var step: String
    public var key: [SQLValue]
    public var error: String

    public init(step: String, key: [SQLValue], error: String) {
        self.step = step
        self.key = key
        self.error = error
    }
}

extension WorksheetDatabase {
    /// Records the start of a run, owned by this process, and returns its id.
    public func beginRun(job: String, trigger: RunTrigger) throws(StoreError) -> Int64 {
        try write { db in
            try db.execute(sql: "INSERT INTO _sheetsync_runs (job, trigger, started_at, status, owner_pid, owner) VALUES (?, ?, \(SQL.now), 'running', ?, ?)",
                           arguments: [job, trigger.rawValue, RunOwner.current.pid, RunOwner.current.token])
            return db.lastInsertedRowID
        }
    }

    /// Records how a run ended.
    public func finishRun(_ id: Int64, status: RunStatus, counts: WriteCounts, requests: Int,
                          errorCode: String? = nil, errorMessage: String? = nil, details: JSONValue? = nil) throws(StoreError) {
        try write { db in
            try db.execute(sql: """
                UPDATE _sheetsync_runs SET ended_at = \(SQL.now), status = ?, requests = ?, inserted = ?, updated = ?,
                    unchanged = ?, skipped = ?, rejected = ?, deleted = ?, details = ?, error_code = ?, error_message = ?
                WHERE id = ?
                """, arguments: [status.rawValue, requests, counts.inserted, counts.updated, counts.unchanged, counts.skipped,
                                 counts.rejectedTotal, counts.deletedTotal, (details ?? counts.json).jsonText, errorCode, errorMessage, id])
        }
    }

    /// Appends request attempts to `_sheetsync_requests`.
    public func recordRequests(_ entries: [RequestAttempt], run: Int64) throws(StoreError) {
        guard !entries.isEmpty else { return }
        try write { db in try Self.recordRequests(entries, run: run, db) }
    }

    static func recordRequests(_ entries: [RequestAttempt], run: Int64, _ db: Database) throws {
        guard !entries.isEmpty else { return }
        let statement = try db.cachedStatement(sql: """
            INSERT INTO _sheetsync_requests (run_id, method, url, status, duration_ms, bytes, attempt, error, sent_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, \(SQL.now))
            """)
        for entry in entries {
            try statement.execute(arguments: [run, entry.method, entry.url, entry.status, entry.durationMilliseconds,
                                              entry.bytes, entry.attempt, entry.error])
        }
    }

    /// Recent runs, newest first.
    public func runs(job: String? = nil, limit: Int = 20) throws(StoreError) -> [RunRecord] {
        try read { db in
            let filter = job == nil ? "" : "WHERE job = ?"
            let arguments: StatementArguments = job.map { [$0, limit] } ?? [limit]
            return try Row.fetchAll(db, sql: "SELECT * FROM _sheetsync_runs \(filter) ORDER BY id DESC LIMIT ?", arguments: arguments).map { row in
                RunRecord(id: row["id"], job: row["job"], trigger: row["trigger"], startedAt: row["started_at"], endedAt: row["ended_at"],
                          status: row["status"], requests: row["requests"], inserted: row["inserted"], updated: row["updated"],
                          unchanged: row["unchanged"], skipped: row["skipped"], rejected: row["rejected"], deleted: row["deleted"],
                          errorCode: row["error_code"], errorMessage: row["error_message"],
                          deliveries: Self.deliveries(inDetails: row["details"]))
            }
        }
    }

    /// A push run's outcome counts, kept in its details (`JobRunner.push`).
    static func deliveries(inDetails text: String?) -> [(outcome: String, count: Int)]? {
        guard let text, let parsed = try? JSONReader.parse(text), case .object(let object) = parsed,
              object["delivered"] != nil else { return nil }
        return ["delivered", "failed", "skipped", "pending"].map { name in
            if case .number(let digits)? = object[name] { (name, Int(digits) ?? 0) } else { (name, 0) }
        }
    }

    /// The job's saved state (`{{state.x}}`).
    public func state(job: String) throws(StoreError) -> [String: String] {
        try read { db in
            var result: [String: String] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT name, value FROM _sheetsync_state WHERE job = ?", arguments: [job]) {
                result[row["name"]] = row["value"]
            }
            return result
        }
    }

    /// Writes one page in one transaction: the job's rows (in `write` mode), each child
    /// worksheet's rows (in its own mode; `upsert` replaces the children of every parent
    /// in the page), and the rejects.
    ///
    /// `rows` may hold several batches with different columns: a record whose
    /// per-record step failed with `on_failure: continue` is written without that
    /// step's fields, so their stored values stay as they were.
    ///
    /// `first`, when set, runs in the transaction before anything is written (a pull job
    /// confirms the records it skipped as unchanged there).
    public func writePage(rows: [RowBatch], into worksheet: WorksheetDefinition, children: [(ChildRows, WorksheetDefinition)],
                          rejects: [Reject], job: String, run: Int64?, state: [String: String?] = [:],
                          stepFailures: [StepFailure] = [], requests: [RequestAttempt] = [],
                          halfway: (() -> Void)? = nil, write mode: WriteMode = .upsert,
                          first: (@Sendable (any PageWriter) throws -> Void)? = nil) throws(StoreError) -> WriteCounts {
        do {
            return try writePageParts(rows: rows, into: worksheet, children: children, rejects: rejects, job: job, run: run, state: state,
                                      stepFailures: stepFailures, requests: requests, halfway: halfway, mode: mode, first: first)
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(.sqlError, describe(error), underlying: error)
        }
    }

    private func writePageParts(rows: [RowBatch], into worksheet: WorksheetDefinition, children: [(ChildRows, WorksheetDefinition)],
                                rejects: [Reject], job: String, run: Int64?, state: [String: String?],
                                stepFailures: [StepFailure], requests: [RequestAttempt], halfway: (() -> Void)?,
                                mode: WriteMode, first: ((any PageWriter) throws -> Void)?) throws -> WriteCounts {
        try writeInSink(into: worksheet, job: job, run: run, requests: requests, halfway: halfway, write: mode) { sink in
            try first?(sink)
            for batch in rows { try sink.write(batch) }
            if !stepFailures.isEmpty {
                let statement = try sink.db.cachedStatement(sql: "INSERT INTO _sheetsync_step_failures (run_id, job, step, record_key, error) VALUES (?, ?, ?, ?, ?)")
                for failure in stepFailures {
                    try statement.execute(arguments: [run, job, failure.step, JSONValue.array(failure.key.map(\.jsonValue)).jsonText, failure.error])
                }
            }
            try sink.write(RowBatch(columns: []), children: children, rejects: rejects)
            return state
        }
    }

    /// Writes one page in one transaction, in as many parts as `body` hands to the
    /// sink: a response too large to hold as rows is mapped and written a batch of
    /// records at a time. `body` returns the state to save with the page (it may
    /// depend on what was read). Any error rolls the whole page back.
    ///
    /// An error `body` throws rolls the page back and is rethrown as it is (a reader's
    /// error stays the reader's); the database's own errors are `StoreError`s.
    /// `halfway`, when set, is called in the middle of the page's first batch of rows
    /// (crash tests stop the process there). `write` is the job's `WriteMode`.
    public func writeInParts(into worksheet: WorksheetDefinition, job: String, run: Int64?, requests: [RequestAttempt] = [],
                             halfway: (() -> Void)? = nil, write mode: WriteMode = .upsert,
                             _ body: (any PageWriter) throws -> [String: String?]) throws -> WriteCounts {
        try writeInSink(into: worksheet, job: job, run: run, requests: requests, halfway: halfway, write: mode, body)
    }

    func writeInSink(into worksheet: WorksheetDefinition, job: String, run: Int64?, requests: [RequestAttempt],
                     halfway: (() -> Void)?, write mode: WriteMode, _ body: (PageSink) throws -> [String: String?]) throws -> WriteCounts {
        var bodyError: (any Error)?
        do {
            return try write { db in
                if let run { try Self.recordRequests(requests, run: run, db) }
                // Marks the page's own writes for the digest guards; removed before the commit.
                try db.execute(sql: "INSERT INTO _sheetsync_writing (x) VALUES (1)")
                let sink = PageSink(db: db, worksheet: worksheet, job: job, run: run, halfway: halfway, mode: mode)
                let state: [String: String?]
                do {
                    state = try body(sink)
                } catch {
                    bodyError = error
                    throw error
                }
                try sink.storeDigests()
                try sink.storePageDigest()
                try db.execute(sql: "DELETE FROM _sheetsync_writing")
                try Self.saveState(state, job: job, db)
                return sink.counts
            }
        } catch {
            throw bodyError ?? error
        }
    }

    /// True when the page's parents have exactly the children the page lists (after
    /// they were upserted), so there is nothing to delete: one counting statement for
    /// the page instead of one delete per parent. Only for a one-column link with
    /// distinct parents; otherwise false, and each parent is checked.
    /// How many rows of `worksheet` have one of `parents` (distinct one-value keys) in `link`.
    static func childCount(of parents: [[SQLValue]], link: String, in worksheet: WorksheetDefinition, _ db: Database) throws -> Int64 {
        let placeholders = Array(repeating: "?", count: parents.count).joined(separator: ", ")
        let count = BoundStatement(try db.cachedStatement(sql: "SELECT count(*) FROM \(SQL.quote(worksheet.name)) WHERE \(SQL.quote(link)) IN (\(placeholders))"), db)
        for (position, parent) in parents.enumerated() { count.bind(parent[0], at: Int32(position + 1)) }
        var stored: Int64 = -1
        try count.forEachRow { row in if case .integer(let value) = row.column(0) { stored = value } }
        return stored
    }

    static func noStaleChildren(_ child: ChildRows, keep: [[SQLValue]: [[SQLValue]]], in worksheet: WorksheetDefinition, _ db: Database) throws -> Bool {
        let parents = keep.count
        guard child.linkColumns.count == 1, child.parentKeys.count < 30_000 else { return false }
        // Distinct child keys in the page (a parent's few children compared pairwise).
        var listed = 0
        for keys in keep.values {
            for (index, key) in keys.enumerated() where !keys[..<index].contains(key) { listed += 1 }
        }
        let distinctParents = Set(child.parentKeys)
        guard distinctParents.count == child.parentKeys.count, parents <= distinctParents.count else { return false }
        return try childCount(of: child.parentKeys, link: child.linkColumns[0], in: worksheet, db) == Int64(listed)
    }

    /// Sets (or, for nil, deletes) state values of a job.
    public func saveState(_ state: [String: String?], job: String) throws(StoreError) {
        try write { db in try Self.saveState(state, job: job, db) }
    }

    /// Deletes every state value of a job.
    public func resetState(job: String) throws(StoreError) {
        try write { db in try db.execute(sql: "DELETE FROM _sheetsync_state WHERE job = ?", arguments: [job]) }
    }

    static func saveState(_ state: [String: String?], job: String, _ db: Database) throws {
        for (name, value) in state {
            guard let value else {
                try db.execute(sql: "DELETE FROM _sheetsync_state WHERE job = ? AND name = ?", arguments: [job, name])
                continue
            }
            try db.execute(sql: """
                    INSERT INTO _sheetsync_state (job, name, value) VALUES (?, ?, ?)
                    ON CONFLICT (job, name) DO UPDATE SET value = excluded.value, updated_at = \(SQL.now)
                    """, arguments: [job, name, value])
        }
    }

    /// Deletes child rows of the page's parents that the response no longer lists.
    ///
    /// When the child key is the link columns plus one more column (the usual layout:
    /// `[order_id, sku]`), one cached statement per parent does it in SQLite:
    /// `DELETE … WHERE order_id = ? AND sku NOT IN (?, …)`, found through the key's
    /// index. Other layouts read each parent's child keys and delete the missing ones.
    ///
    /// `insertedAll`: every row of `child` was just inserted (a first load): then the
    /// parents' rows in the table are these plus any stale ones, and one count says
    /// whether there are any, without grouping the page's rows by parent.
    static func removeStaleChildren(_ child: ChildRows, in worksheet: WorksheetDefinition, _ db: Database, insertedAll: Bool = false) throws -> Int {
        if insertedAll, child.linkColumns.count == 1, child.parentKeys.count < 30_000, !child.parentKeys.isEmpty,
           Set(child.parentKeys).count == child.parentKeys.count,
           try childCount(of: child.parentKeys, link: child.linkColumns[0], in: worksheet, db) == Int64(child.rows.rows.count) {
            return 0
        }
        let linkIndexes = child.linkColumns.compactMap { child.rows.columns.firstIndex(of: $0) }
        let keyIndexes = worksheet.key.compactMap { child.rows.columns.firstIndex(of: $0) }
        guard linkIndexes.count == child.linkColumns.count, keyIndexes.count == worksheet.key.count else { return 0 }
        var keep: [[SQLValue]: [[SQLValue]]] = [:]
        for row in child.rows.rows {
            keep[linkIndexes.map { row[$0] }, default: []].append(keyIndexes.map { row[$0] })
        }
        let table = SQL.quote(worksheet.name)
        let linkMatch = child.linkColumns.enumerated().map { "\(SQL.quote($0.element)) = ?\($0.offset + 1)" }.joined(separator: " AND ")
        let rest = worksheet.key.filter { !child.linkColumns.contains($0) }
        var deleted = 0
        var seen = Set<[SQLValue]>()
        if try noStaleChildren(child, keep: keep, in: worksheet, db) { return 0 }
        // SQLite allows 32,766 parameters per statement.
        if rest.count == 1, let restIndex = worksheet.key.firstIndex(of: rest[0]), keep.values.allSatisfy({ $0.count < 30_000 }) {
            let links = Int32(child.linkColumns.count)
            // One statement per number of kept children, prepared once per page. Short
            // lists use `<>` chains: SQLite builds a temporary index for `NOT IN` lists.
            var statements: [Int: BoundStatement] = [:]
            func statement(keeping count: Int) throws -> BoundStatement {
                if let cached = statements[count] { return cached }
                var sql = "DELETE FROM \(table) WHERE \(linkMatch)"
                let column = SQL.quote(rest[0])
                let parameters = (0..<count).map { "?\(Int(links) + $0 + 1)" }
                if count > 0, count <= 16 {
                    sql += parameters.map { " AND \(column) <> \($0)" }.joined()
                } else if count > 16 {
                    sql += " AND \(column) NOT IN (\(parameters.joined(separator: ", ")))"
                }
                let prepared = BoundStatement(try db.cachedStatement(sql: sql), db)
                statements[count] = prepared
                return prepared
            }
            for parent in child.parentKeys where seen.insert(parent).inserted {
                let kept = keep[parent] ?? []
                let delete = try statement(keeping: kept.count)
                for (position, value) in parent.enumerated() { delete.bind(value, at: Int32(position + 1)) }
                for (position, key) in kept.enumerated() { delete.bind(key[restIndex], at: links + Int32(position + 1)) }
                deleted += try delete.execute()
            }
            return deleted
        }
        let keyMatch = worksheet.key.enumerated().map { "\(SQL.quote($0.element)) = ?\($0.offset + 1)" }.joined(separator: " AND ")
        let select = BoundStatement(try db.cachedStatement(sql: "SELECT \(worksheet.key.map(SQL.quote).joined(separator: ", ")) FROM \(table) WHERE \(linkMatch)"), db)
        let delete = BoundStatement(try db.cachedStatement(sql: "DELETE FROM \(table) WHERE \(keyMatch)"), db)
        for parent in child.parentKeys where seen.insert(parent).inserted {
            let kept = Set(keep[parent] ?? [])
            for (position, value) in parent.enumerated() { select.bind(value, at: Int32(position + 1)) }
            var existing: [[SQLValue]] = []
            try select.forEachRow { row in existing.append((0..<Int32(worksheet.key.count)).map { row.column($0) }) }
            for key in existing where !kept.contains(key) {
                for (position, value) in key.enumerated() { delete.bind(value, at: Int32(position + 1)) }
                deleted += try delete.execute()
            }
        }
        return deleted
    }
}

extension WorksheetDatabase {
    /// Deliveries per job and state, for metrics.
    public func deliveryCounts() throws(StoreError) -> [(job: String, state: String, count: Int)] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT job, state, count(*) AS n FROM _sheetsync_deliveries GROUP BY job, state ORDER BY job, state")
                .map { ($0["job"], $0["state"], $0["n"]) }
        }
    }

    /// Pending deliveries per job that have been tried at least once (waiting to retry).
    public func retryingCounts() throws(StoreError) -> [String: Int] {
        try read { db in
            var counts: [String: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT job, count(*) AS n FROM _sheetsync_deliveries WHERE state = 'pending' AND attempts > 0 GROUP BY job") {
                counts[row["job"]] = row["n"]
            }
            return counts
        }
    }

    /// Recorded HTTP requests per job and status (`none` for a request without an answer),
    /// for metrics; the ledger keeps what `retention:` allows.
    public func requestStatusCounts() throws(StoreError) -> [(job: String, status: String, count: Int)] {
        try read { db in
            try Row.fetchAll(db, sql: """
                SELECT r.job, coalesce(CAST(q.status AS TEXT), 'none') AS answer, count(*) AS n
                FROM _sheetsync_requests q JOIN _sheetsync_runs r ON r.id = q.run_id GROUP BY r.job, answer ORDER BY r.job, answer
                """).map { ($0["job"], $0["answer"], $0["n"]) }
        }
    }

    /// HTTP requests per job: how many and their total duration, for metrics.
    public func requestStats() throws(StoreError) -> [(job: String, count: Int, milliseconds: Int)] {
        try read { db in
            try Row.fetchAll(db, sql: """
                SELECT r.job, count(q.id) AS n, coalesce(sum(q.duration_ms), 0) AS ms
                FROM _sheetsync_requests q JOIN _sheetsync_runs r ON r.id = q.run_id GROUP BY r.job ORDER BY r.job
                """).map { ($0["job"], $0["n"], $0["ms"]) }
        }
    }
}

/// Where the parts of one page go, inside the page's transaction. Valid only within
/// the `writeInParts` closure that hands it over.
public final class PageSink: PageWriter {
    let db: Database
    let worksheet: WorksheetDefinition
    let job: String
    let run: Int64?
    /// How the job's rows are written.
    let mode: WriteMode
    public internal(set) var counts = WriteCounts()
    /// Called once, halfway through the first batch of rows written (crash tests).
    private var halfway: (() -> Void)?
    /// Keys of the job's rows skipped (`write: update`) since children were last written:
    /// their children are skipped too. Rows and their children may come in separate calls
    /// (`writePage` writes the children after every batch of rows), so the keys are kept
    /// until children are written, at most for the sink's one page.
    private var skippedKeys: [[SQLValue]] = []
    /// The digests to store once the page's rows and children are written (see
    /// `WorksheetDatabase+Digests`).
    var pendingDigests: [(key: [SQLValue], digest: RecordDigest)] = []
    /// The whole page, when its digest is to be stored once every record of it is stored
    /// or confirmed with it (see `WorksheetDatabase+Digests`); set before anything is written.
    public var page: PageDigest?
    /// Of the page: the keys of its records stored or confirmed, their child rows per child
    /// worksheet, those confirmed whose digest names another page, whether any was written,
    /// whether any was rejected.
    var pageKeys = Set<[SQLValue]>()
    var pageChildRows: [Int] = []
    var pageMovedKeys: [[SQLValue]] = []
    var pageWroteRecords = false
    var pageRejected = false

    init(db: Database, worksheet: WorksheetDefinition, job: String, run: Int64?, halfway: (() -> Void)? = nil, mode: WriteMode = .upsert) {
        self.db = db
        self.worksheet = worksheet
        self.job = job
        self.run = run
        self.halfway = halfway
        self.mode = mode
        counts.byWorksheet[worksheet.name] = UpsertCounts()
    }

    /// Writes rows of the job's worksheet in the job's `write` mode, and each child
    /// worksheet's rows in theirs (`upsert` replaces the children of every parent
    /// listed), and records the rejects.
    public func write(_ rows: RowBatch, children: [(ChildRows, WorksheetDefinition)] = [], rejects: [Reject] = []) throws {
        let hook = rows.rows.isEmpty ? nil : halfway
        if hook != nil { halfway = nil }
        keepDigests(of: rows)
        counts.byWorksheet[worksheet.name]! += try WorksheetDatabase.upsert(rows, into: worksheet, source: job, mode: mode, db,
                                                                            skippedKeys: &skippedKeys, halfway: hook)
        if !children.isEmpty {
            try WorksheetDatabase.writeChildren(children, source: job, db, counts: &counts, skippedParents: skippedKeys)
            skippedKeys = []
        }
        if !rejects.isEmpty {
            pageRejected = true
            let statement = try db.cachedStatement(sql: "INSERT INTO _sheetsync_rejects (job, run_id, worksheet, reason, raw) VALUES (?, ?, ?, ?, ?)")
            for reject in rejects {
                try statement.execute(arguments: [job, run, reject.worksheet, reject.reason, reject.raw])
                counts.rejected[reject.worksheet, default: 0] += 1
            }
        }
    }
}
