import Crypto
import Foundation
import Logging
import SheetSyncCore
import SheetSyncHTTP
import SheetSyncStore
import SheetSyncTransform

/// One run of a pull job, built once with everything it needs. Its loop reads as the
/// steps a person would name: fetch a page, read it into rows, write it with the state
/// that lets an interrupted run resume, and decide what comes next.
///
/// Crash safety: the incremental cursor moves only in the transaction of the last page;
/// until then the run's progress (next page, the cursor its requests use, the largest
/// cursor seen) is saved with each page. A run killed at any point resumes at the first
/// page not committed, with the same request cursor, so there are no gaps and, thanks
/// to upserts, no duplicates. Backfill windows keep no resume state and never touch the
/// cursor.
///
/// While a page is written (SQLite, on one core), the next one is fetched and read (on
/// the other). At most one write is in flight; the requests of a page are logged in its
/// transaction.
final class PullRun {
    let runner: JobRunner
    let job: JobDefinition
    let pull: PullJob
    let worksheet: WorksheetDefinition
    let sheets: [String: WorksheetDefinition]
    let reader: PageReader
    let builder: RequestBuilder
    let redactor: Redactor
    let run: Int64
    let database: any WorksheetStore
    let logger: Logger
    /// False for backfill windows: no resume state, no cursor.
    let keepsState: Bool
    /// The cursor value this run's requests use (kept across a resume).
    var requestCursor: String
    /// Where an interrupted run left off, when this run resumes there; and what a fresh
    /// run would start from, should the server refuse that position (`on_stale_resume`).
    var resumedFrom: PagePosition?
    var freshStart: (cursorMax: String?, requestCursor: String) = (nil, "")

    /// The digests of records synced before, when the job skips unchanged records.
    private var storedDigests: WorksheetDigests?
    var values: TemplateValues
    /// What the setup steps extracted, and which failed (`on_failure: continue`).
    var setup = JobRunner.SetupOutcome()
    var summary: RunSummary
    var walker: PageWalker?
    var position: PagePosition
    var cursorMax: String?
    private var lastRequest: ContinuousClock.Instant?
    private let started = ContinuousClock.now
    /// What the mapping's paths found over the run's pages (a path that finds nothing is reported).
    private var pathMatches = PathMatches()
    /// The page being written, and the requests recorded with it.
    private var inFlight: (task: Task<WriteCounts, any Error>, requests: [RequestAttempt])?
    /// Requests made but not yet recorded (they go with the next page's transaction).
    private var unrecorded: [RequestAttempt] = []

    /// Prepares the run: mapper, template values, and where to start (a saved position
    /// when an earlier run was interrupted).
    init(runner: JobRunner, job: JobDefinition, pull: PullJob, params: [String: String], run: Int64, window: BackfillWindow?,
         summary: RunSummary, logger: Logger, database: any WorksheetStore) throws {
        guard let worksheet = runner.project.worksheet(named: job.worksheet) else {
            throw JobRunner.RunFailure(.invalidJob, "worksheet '\(job.worksheet)' is not defined in schema/")
        }
        self.runner = runner
        self.job = job
        self.pull = pull
        self.worksheet = worksheet
        sheets = runner.worksheetsByName()
        (values, redactor) = try runner.values(for: job, params: params, window: window)
        do {
            var mapper = try GetMultipleData(jobName: job.name, job: try JobRunner.resolvingFieldTemplates(pull, values: values),
                                             worksheet: worksheet, worksheets: sheets)
            mapper.redactor = redactor
            if mapper.canSkipUnchangedRecords {
                // Records unchanged since the last sync are skipped by digest, once their
                // guards are in place (see WorksheetDatabase+Digests).
                try database.guardDigests(Self.digestFamily(pull, worksheet: worksheet, sheets: sheets))
                mapper = mapper.digesting { bytes in Array(SHA256.hash(data: bytes).prefix(16)) }
                storedDigests = WorksheetDigests(database: database, worksheet: worksheet.name)
            }
            reader = PageReader(mapper: mapper)
        } catch let error as PageReadError {
            throw JobRunner.RunFailure(error)
        }
        builder = RequestBuilder(projectDirectory: runner.project.directory, userAgent: runner.project.settings.http.userAgent,
                                 defaultMaxResponseBytes: runner.project.settings.http.maxResponseBytes)
        self.run = run
        self.summary = summary
        self.logger = logger
        self.database = database
        keepsState = window == nil
        let state = keepsState ? try database.state(job: job.name) : [:]
        walker = pull.paginate.map(PageWalker.init)
        position = walker?.first() ?? PagePosition()
        cursorMax = state[StateKey.cursor]
        freshStart = (cursorMax, values.state[StateKey.cursor] ?? "")
        if keepsState, walker != nil, let saved = state[StateKey.resumePosition].flatMap(PagePosition.init(json:)) {
            position = saved
            resumedFrom = saved
            walker?.remember(saved)
            cursorMax = CursorValue.max(cursorMax, state[StateKey.resumeCursorMax], as: reader.mapper.cursorType)
            if let cursor = state[StateKey.resumeRequestCursor] { values.state[StateKey.cursor] = cursor }
            logger.info("resuming at page \(saved.number)")
        }
        requestCursor = values.state[StateKey.cursor] ?? ""
    }

    /// Runs every page; the run's status when all went through.
    func execute() async throws -> RunStatus {
        if !pull.setupSteps.isEmpty {
            setup = try await runner.runSetupSteps(pull.setupSteps, values: values, builder: builder, redactor: redactor,
                                                   run: run, summary: &summary, database: database)
            values.steps = setup.values
        }
        do {
            while true {
                try await waitForTurn()
                let (request, response) = try await fetch()
                let decision = try await readAndWrite(response, url: request.url)
                // Once per run, however many pages say it.
                for warning in decision.warnings where !summary.warnings.contains(warning) { summary.warnings.append(warning) }
                if let loop = decision.loopError {
                    throw JobRunner.RunFailure(.paginationLoop, loop)
                }
                guard let next = decision.next else {
                    summary.stopReason = decision.stopReason
                    break
                }
                position = next
            }
            try await finishWrite()
        } catch {
            await settle()
            throw interruption(error) ?? error
        }
        if summary.stepFailures > 0 {
            summary.warnings.append("\(summary.stepFailures) per-record step call(s) failed; those records kept their old values of the step's fields (see _sheetsync_step_failures)")
        }
        summary.warnings += reader.mapper.unmatchedPathWarnings(pathMatches)
        if pull.incremental != nil { summary.cursor = cursorMax }
        return summary.counts.rejectedTotal > 0 || summary.stepFailures > 0 ? .partial : .succeeded
    }

    // MARK: - Fetch

    /// Stops on shutdown, and paces requests: `delay` between pages, `requests_per_second` overall.
    private func waitForTurn() async throws {
        try stopIfAsked()
        if let lastRequest {
            var wait = pull.paginate?.delay ?? .zero
            if let rate = pull.paginate?.requestsPerSecond { wait = max(wait, .seconds(1 / rate) - (ContinuousClock.now - lastRequest)) }
            if wait > .zero {
                try? await Task.sleep(for: wait)
                try stopIfAsked()
            }
        }
        lastRequest = .now
    }

    /// A daemon shutting down asks runs to stop: no further request is sent, the page being
    /// written commits (`settle`), and the saved position makes the next run resume here.
    private func stopIfAsked() throws {
        if Task.isCancelled || runner.stop?.isRequested == true {
            throw JobRunner.RunFailure(.interrupted, "stopped by shutdown before page \(position.number); the next run resumes there")
        }
    }

    /// A failure because the shutdown's grace period ran out (the run's task cancelled in
    /// the middle of a request or a retry's wait) is recorded as the interruption it is.
    private func interruption(_ error: any Error) -> JobRunner.RunFailure? {
        guard Task.isCancelled, (error as? JobRunner.RunFailure)?.code != .interrupted else { return nil }
        return JobRunner.RunFailure(.interrupted, "stopped by shutdown while page \(position.number) was requested (the grace period ran out); the next run resumes there",
                                    underlying: error)
    }

    /// Builds the page's request and sends it (with its retries).
    private func fetch() async throws -> (PreparedRequest, HTTPResponseData) {
        if let walker { values.page = walker.templateValues(position) }
        let request: PreparedRequest
        switch JobRunner.buildPage(builder, pull.request, values: values, walker: walker, position: position) {
        case .success(let built): request = built
        case .failure(let error):
            throw setup.cause(for: pull.request, redactor: redactor)
                ?? JobRunner.RunFailure(error, message: "Unable to build the request for job '\(job.name)', \(redactor.redact(error.message))")
        }
        logger.debug("sending \(request.method.rawValue) \(redactor.redact(request.url))")
        let exchange = await runner.transport.send(request, redactor: redactor)
        summary.requests += exchange.attempts.count
        unrecorded += exchange.attempts
        runner.faults?(.afterRequest, position.number)
        switch exchange.result {
        case .success(let response): return (request, response)
        case .failure(let error) where isStaleResume(error):
            guard pull.paginate?.onStaleResume == .restart else { throw staleResumeFailure(error) }
            try startOver(after: error)
            return try await fetch()
        case .failure(let error): throw JobRunner.RunFailure(error, continued: continues)
        }
    }

    // MARK: - Read and write

    /// Reads the page into rows and writes it. A body spilled to disk (too large to hold
    /// as rows) is read and written a batch of records at a time in the page's one
    /// transaction; other pages are read whole, enriched by per-record steps, and written
    /// while the next page is fetched.
    private func readAndWrite(_ response: HTTPResponseData, url: String) async throws -> PageDecision {
        if let spilled = response.spilled, pull.perRecordSteps.isEmpty {
            return try await stream({ try spilled.forEachChunk($0) }, response: response, url: url)
        }
        let body: [UInt8]
        do {
            body = try response.bodyBytes()
        } catch {
            throw JobRunner.RunFailure(.connection, "\(error)", continued: continues, underlying: error)
        }
        if body.count > Self.streamBytes, pull.perRecordSteps.isEmpty {
            // Held in memory, but as rows a page of very many small records would take many
            // times its size: written a batch of records at a time, like a spilled body.
            return try await stream({ each in try body.withUnsafeBufferPointer { try each($0) } }, response: response, url: url)
        }
        let document: JSONValue
        var page: TransformedPage
        do {
            (document, page) = try reader.read(body, metadata: Self.metadata(response), stored: storedDigests)
        } catch let error as PageReadError {
            throw failure(error, response: response, url: url)
        }
        // A page that echoes one of the run's secrets (a `next` link with the API key in
        // it) is not stored whole: its outline would keep the secret in the database.
        if let whole = page.whole, !whole.skipped, containsSecret(whole.digest.outline) { page.whole = nil }
        summary.records += page.recordCount
        summary.pages += 1
        pathMatches.merge(page.matches)
        reportProgress()
        var decision = PageDecision(stopReason: "the response had no body")
        if !body.allSatisfy(PageReader.isWhiteSpace) {
            // An empty body (a HEAD, a 204) has no next page to read.
            decision = try decideNext(response: response, document: document, records: page.recordCount, pageCursorMax: page.cursorMax)
        } else {
            cursorMax = CursorValue.max(cursorMax, page.cursorMax, as: reader.mapper.cursorType)
        }
        let (batches, stepFailures) = try await runner.enrich(page, steps: pull.perRecordSteps, worksheet: worksheet, values: values,
                                                              builder: builder, redactor: redactor, run: run, summary: &summary,
                                                              database: database)
        summary.stepFailures += stepFailures.count
        try await startWrite(batches, page: page, stepFailures: stepFailures, state: stateChanges(after: decision))
        return decision
    }

    /// What `$response.…` fields read.
    static func metadata(_ response: HTTPResponseData) -> JSONValue {
        ResponseMetadata.document(status: response.status, headers: response.headers)
    }

    /// In-memory bodies larger than this are written in parts too (1,000,000 records of
    /// `{"id":"N"}` in 16 MB took 293 MB as one page of rows; a page of 1,000 orders is
    /// well below it and keeps being written while the next page is fetched).
    static let streamBytes = 2 << 20

    /// Writes a page in parts (a spilled or large body), inside one transaction, after
    /// the page before it.
    private func stream(_ chunks: PageReader.Chunks, response: HTTPResponseData, url: String) async throws -> PageDecision {
        try await finishWrite()
        let requests = unrecorded
        unrecorded = []
        var decision = PageDecision()
        var records = 0
        var matches = PathMatches()
        do {
            summary.counts += try database.writeInParts(into: worksheet, job: job.name, run: run, requests: requests, halfway: halfway(),
                                                        write: pull.write) { sink in
                let outline = try reader.read(chunks, metadata: Self.metadata(response), stored: storedDigests) { page in
                    try Self.confirmUnchanged(page.unchanged, sink, children: reader.mapper.childWorksheets, sheets: sheets)
                    try sink.write(page.rows, children: children(of: page), rejects: page.rejects)
                }
                records = outline.recordCount
                matches = outline.matches
                decision = try decideNext(response: response, document: outline.document, records: records, pageCursorMax: outline.cursorMax)
                return stateChanges(after: decision)
            }
        } catch let error as PageReadError {
            unrecorded = requests
            throw failure(error, response: response, url: url)
        } catch {
            unrecorded = requests
            throw error
        }
        runner.faults?(.afterCommit, position.number)
        summary.records += records
        summary.pages += 1
        pathMatches.merge(matches)
        reportProgress()
        return decision
    }

    private func reportProgress() {
        runner.progress?(RunProgress(job: job.name, pages: summary.pages, records: summary.records, elapsed: ContinuousClock.now - started))
    }

    /// Starts writing a page once the page before it is written (pages commit in order).
    private func startWrite(_ batches: [RowBatch], page: TransformedPage, stepFailures: [StepFailure], state: [String: String?]) async throws {
        try await finishWrite()
        let requests = unrecorded
        unrecorded = []
        let (database, worksheet, job, run, faults, number) = (database, worksheet, job.name, run, runner.faults, position.number)
        let mode = pull.write
        let children = children(of: page)
        let halfway = halfway()
        let first = Self.confirming(page, children: reader.mapper.childWorksheets, sheets: sheets)
        let write = Task {
            let counts = try database.writePage(rows: batches, into: worksheet, children: children, rejects: page.rejects, job: job, run: run,
                                                state: state, stepFailures: stepFailures, requests: requests, halfway: halfway, write: mode,
                                                first: first)
            faults?(.afterCommit, number)
            return counts
        }
        inFlight = (write, requests)
    }

    /// Waits for the page being written.
    private func finishWrite() async throws {
        guard let previous = inFlight else { return }
        inFlight = nil
        summary.counts += try await previous.task.value
    }

    /// After a failure: lets the page being written finish (its commit keeps the run's
    /// progress), and records the requests no page transaction recorded.
    private func settle() async {
        if let previous = inFlight {
            inFlight = nil
            switch await previous.task.result {
            case .success(let counts): summary.counts += counts
            case .failure: unrecorded = previous.requests + unrecorded
            }
        }
        try? database.recordRequests(unrecorded, run: run)
    }

    private func children(of page: TransformedPage) -> [(ChildRows, WorksheetDefinition)] {
        Self.children(of: page, sheets: sheets)
    }

    static func children(of page: TransformedPage, sheets: [String: WorksheetDefinition]) -> [(ChildRows, WorksheetDefinition)] {
        page.children.compactMap { child in sheets[child.worksheet].map { (child, $0) } }
    }

    /// The crash tests' mid-write point for this page, if a fault hook is set.
    private func halfway() -> (@Sendable () -> Void)? {
        guard let faults = runner.faults else { return nil }
        let number = position.number
        return { faults(.midWrite, number) }
    }

    // MARK: - What comes next

    /// What follows the page at `position`, keeping the largest cursor so far.
    private func decideNext(response: HTTPResponseData, document: JSONValue, records: Int, pageCursorMax: String?) throws -> PageDecision {
        cursorMax = CursorValue.max(cursorMax, pageCursorMax, as: reader.mapper.cursorType)
        guard walker != nil else { return PageDecision() }
        switch JobRunner.decide(&walker!, after: position, response: response, document: document, records: records) {
        case .success(let decision): return decision
        case .failure(let error): throw JobRunner.RunFailure(.paginationLoop, error.message, underlying: error)
        }
    }

    /// The state saved with a page: where to resume, or, after the last page, the cursor.
    private func stateChanges(after decision: PageDecision) -> [String: String?] {
        guard keepsState else { return [:] }
        if let next = decision.next {
            // A next position that carries one of the run's secrets (an API echoing its key
            // in a `next` link) is not saved: the database never holds a secret. An
            // interrupted run of such a job starts again at its first page (upserts make
            // that safe; the cursor moves only after the last page).
            guard !containsSecret(next.json), !containsSecret(requestCursor) else {
                return [StateKey.resumePosition: nil, StateKey.resumeRequestCursor: nil, StateKey.resumeCursorMax: nil]
            }
            return [StateKey.resumePosition: next.json, StateKey.resumeRequestCursor: requestCursor, StateKey.resumeCursorMax: cursorMax]
        }
        var changes: [String: String?] = [StateKey.resumePosition: nil, StateKey.resumeRequestCursor: nil, StateKey.resumeCursorMax: nil]
        if pull.incremental != nil, decision.loopError == nil, let cursorMax { changes[StateKey.cursor] = cursorMax }
        return changes
    }

    /// Whether `text` holds one of the run's secrets (in any form the redactor masks).
    private func containsSecret(_ text: String) -> Bool {
        !redactor.isEmpty && redactor.redact(text) != text
    }

    // MARK: - Failures

    /// `on_failure: continue`: a failed request or page makes the run partial.
    var continues: Bool { pull.request.onFailure == .continue }

    /// A page that could not be read: a body that is not JSON says what its headers suggest.
    private func failure(_ error: PageReadError, response: HTTPResponseData, url: String) -> JobRunner.RunFailure {
        let message = error.code == .invalidJSON ? JobRunner.notJSON(response, url: redactor.redact(url), error.message) : error.message
        return JobRunner.RunFailure(error, message: message, continued: continues)
    }
}
