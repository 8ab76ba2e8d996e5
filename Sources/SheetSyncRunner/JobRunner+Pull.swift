import Foundation
import Logging
import SheetSyncCore
import SheetSyncHTTP
import SheetSyncStore
import SheetSyncTransform

/// Names of the values a pull job keeps in `_sheetsync_state`: a few per job, never a
/// list that grows with the data.
public enum StateKey {
    /// The incremental cursor: the largest cursor value of a completed run.
    public static let cursor = "cursor"
    /// While a paginated run is under way: the next page, the cursor value the run's
    /// requests use, and the largest cursor value committed so far.
    public static let resumePosition = "resume.position"
    public static let resumeRequestCursor = "resume.request_cursor"
    public static let resumeCursorMax = "resume.cursor_max"
}

extension JobRunner {
    /// Fetches every page of a pull job and writes each in its own transaction,
    /// together with the state that lets an interrupted run resume.
    ///
    /// Crash safety: the incremental cursor moves only in the transaction of the
    /// last page; until then the run's progress (next page, the cursor its requests
    /// use, the largest cursor seen) is saved with each page. A run killed at any
    /// point resumes at the first page not committed, with the same request cursor,
    /// so there are no gaps and, thanks to upserts, no duplicates.
    /// Backfill windows keep no resume state and never touch the cursor.
    func pullPages(_ job: JobDefinition, _ pull: PullJob, params: [String: String], run: Int64, window: BackfillWindow?,
              summary: inout RunSummary, logger: Logger, database: WorksheetDatabase) async throws -> RunStatus {
        guard let worksheet = project.worksheet(named: job.worksheet) else {
            throw RunFailure(code: "invalid_job", message: "worksheet '\(job.worksheet)' is not defined in schema/", continued: false)
        }
        let sheets = worksheetsByName()
        let mapper: GetMultipleData
        do {
            mapper = try GetMultipleData(jobName: job.name, job: pull, worksheet: worksheet, worksheets: sheets)
        } catch {
            throw RunFailure(code: "invalid_job", message: error.message, continued: false)
        }
        var (values, redactor) = try self.values(for: job, params: params, window: window)
        let continues = pull.request.onFailure == .continue
        let builder = RequestBuilder(projectDirectory: project.directory, userAgent: project.settings.http.userAgent,
                                     defaultMaxResponseBytes: project.settings.http.maxResponseBytes)
        let keepsState = window == nil
        let state = keepsState ? try database.state(job: job.name) : [:]

        // Resume an interrupted run, or start at the first page.
        var walker = pull.paginate.map(PageWalker.init)
        var position = walker?.first() ?? PagePosition()
        var cursorMax: String? = state[StateKey.cursor]
        if keepsState, let saved = state[StateKey.resumePosition].flatMap(PagePosition.init(json:)), walker != nil {
            position = saved
            walker?.remember(saved)
            cursorMax = CursorValue.max(cursorMax, state[StateKey.resumeCursorMax])
            if let requestCursor = state[StateKey.resumeRequestCursor] { values.state[StateKey.cursor] = requestCursor }
            logger.info("resuming at page \(saved.number)")
        }
        let requestCursor = values.state[StateKey.cursor] ?? ""
        if !pull.setupSteps.isEmpty {
            values.steps = try await runSetupSteps(pull.setupSteps, values: values, builder: builder, redactor: redactor,
                                                   run: run, summary: &summary, database: database)
        }
        let interval = pull.paginate?.requestsPerSecond.map { Duration.seconds(1 / $0) }
        var lastRequest: ContinuousClock.Instant?

        // While a page is written (SQLite, on one core), the next one is fetched and
        // mapped (on the other). At most one write is in flight; the requests of a page
        // are logged in its transaction.
        var inFlight: (task: Task<WriteCounts, any Error>, requests: [RequestAttempt])?
        var unrecorded: [RequestAttempt] = []
        do {
            while true {
                // A daemon shutting down lets the page in flight finish, then stops here;
                // the saved position makes the next run resume at this page.
                if Task.isCancelled {
                    throw RunFailure(code: "interrupted", message: "stopped by shutdown before page \(position.number); the next run resumes there", continued: false)
                }
                // Pace the requests: 'delay' between pages, 'requests_per_second' overall.
                if let lastRequest {
                    var wait = pull.paginate?.delay ?? .zero
                    if let interval { wait = max(wait, interval - (ContinuousClock.now - lastRequest)) }
                    if wait > .zero { try await Task.sleep(for: wait) }
                }
                lastRequest = .now
                if let walker { values.page = walker.templateValues(position) }
                let request: PreparedRequest
                switch Self.buildPage(builder, pull.request, values: values, walker: walker, position: position) {
                case .success(let built): request = built
                case .failure(let error):
                    throw RunFailure(code: error.code.rawValue, message: "Unable to build the request for job '\(job.name)', \(redactor.redact(error.message))", continued: false)
                }
                logger.debug("sending \(request.method.rawValue) \(redactor.redact(request.url))")
                let exchange = await transport.send(request, redactor: redactor)
                summary.requests += exchange.attempts.count
                unrecorded += exchange.attempts
                FaultInjection.reach(.afterRequest, page: position.number)
                let response: HTTPResponseData
                switch exchange.result {
                case .success(let value): response = value
                case .failure(let error):
                    throw RunFailure(code: error.remoteCode ?? error.code.rawValue, message: error.message, continued: continues)
                }
                let document: JSONValue
                do {
                    document = try JSONReader.parse(response.body)
                } catch {
                    throw RunFailure(code: "invalid_json", message: "the response of \(redactor.redact(request.url)) is not valid JSON: \(error.message)", continued: continues)
                }
                let page: TransformedPage
                do {
                    page = try mapper.transform(document)
                } catch {
                    throw RunFailure(code: "unexpected_response", message: error.message, continued: continues)
                }
                summary.records += page.recordCount
                summary.pages += 1
                var decision = PageDecision()
                if walker != nil {
                    switch Self.decide(&walker!, after: position, response: response, document: document, records: page.recordCount) {
                    case .success(let value): decision = value
                    case .failure(let error): throw RunFailure(code: "pagination_loop", message: error.message, continued: false)
                    }
                }
                cursorMax = CursorValue.max(cursorMax, page.cursorMax)
                var stateChanges: [String: String?] = [:]
                if keepsState {
                    if let next = decision.next {
                        stateChanges[StateKey.resumePosition] = next.json
                        stateChanges[StateKey.resumeRequestCursor] = requestCursor
                        stateChanges[StateKey.resumeCursorMax] = cursorMax
                    } else {
                        stateChanges[StateKey.resumePosition] = .some(nil)
                        stateChanges[StateKey.resumeRequestCursor] = .some(nil)
                        stateChanges[StateKey.resumeCursorMax] = .some(nil)
                        if pull.incremental != nil, decision.loopError == nil, let cursorMax { stateChanges[StateKey.cursor] = cursorMax }
                    }
                }
                let (batches, stepFailures) = try await enrich(page, steps: pull.perRecordSteps, worksheet: worksheet, values: values,
                                                               builder: builder, redactor: redactor, run: run, summary: &summary, database: database)
                let children = page.children.compactMap { child in sheets[child.worksheet].map { (child, $0) } }
                // Pages commit in order: wait for the previous page's write before this one starts.
                if let previous = inFlight {
                    summary.counts += try await previous.task.value
                    inFlight = nil
                }
                FaultInjection.arm(.midWrite, page: position.number)
                let requests = unrecorded
                unrecorded = []
                let pageNumber = position.number
                let write = Task {
                    let counts = try database.writePage(rows: batches, into: worksheet, children: children, rejects: page.rejects,
                                                        job: job.name, run: run, state: stateChanges, stepFailures: stepFailures,
                                                        requests: requests)
                    FaultInjection.reach(.afterCommit, page: pageNumber)
                    return counts
                }
                inFlight = (write, requests)
                summary.stepFailures += stepFailures.count
                summary.warnings += decision.warnings
                if let loop = decision.loopError {
                    throw RunFailure(code: "pagination_loop", message: loop, continued: false)
                }
                guard let next = decision.next else {
                    summary.stopReason = decision.stopReason
                    break
                }
                position = next
            }
            if let previous = inFlight {
                summary.counts += try await previous.task.value
                inFlight = nil
            }
        } catch {
            // Let the page being written finish: its commit keeps the run's progress.
            if let previous = inFlight {
                switch await previous.task.result {
                case .success(let counts): summary.counts += counts
                case .failure: unrecorded = previous.requests + unrecorded
                }
            }
            try? database.recordRequests(unrecorded, run: run)
            throw error
        }
        if pull.incremental != nil { summary.cursor = cursorMax }
        return summary.counts.rejectedTotal > 0 || summary.stepFailures > 0 ? .partial : .succeeded
    }
}

extension JobRunner {
    // Typed throws are caught here, outside the async loop (Swift 6.3 crashes compiling
    // a typed-throws catch inside that loop).
    static func buildPage(_ builder: RequestBuilder, _ spec: HTTPRequestSpec, values: TemplateValues, walker: PageWalker?,
                          position: PagePosition) -> Result<PreparedRequest, HTTPStepError> {
        do {
            var request = try builder.build(spec, values: values)
            try walker?.apply(position, to: &request)
            return .success(request)
        } catch {
            return .failure(error)
        }
    }

    static func decide(_ walker: inout PageWalker, after position: PagePosition, response: HTTPResponseData, document: JSONValue,
                       records: Int) -> Result<PageDecision, HTTPStepError> {
        do {
            return .success(try walker.next(after: position, response: response, document: document, records: records))
        } catch {
            return .failure(error)
        }
    }
}

/// Test-only fault injection: `SHEETSYNC_FAULT=after-request:3` (or `mid-write:N`,
/// `after-commit:N`) kills the process with SIGKILL at that point of page N, so the
/// crash tests can stop a run exactly where they want. Unset, it costs one check per page.
public enum FaultInjection {
    public enum Point: String, Sendable {
        case afterRequest = "after-request"
        case midWrite = "mid-write"
        case afterCommit = "after-commit"
    }

    static let configured: (Point, Int)? = {
        guard let text = ProcessInfo.processInfo.environment["SHEETSYNC_FAULT"] else { return nil }
        let parts = text.split(separator: ":")
        guard parts.count == 2, let point = Point(rawValue: String(parts[0])), let page = Int(parts[1]) else { return nil }
        return (point, page)
    }()

    /// Kills the process now if this is the configured point.
    static func reach(_ point: Point, page: Int) {
        guard let (target, targetPage) = configured, target == point, targetPage == page else { return }
        kill(getpid(), SIGKILL)
    }

    /// For `mid-write`: the store kills the process halfway through the page's rows.
    static func arm(_ point: Point, page: Int) {
        guard let (target, targetPage) = configured, target == point, targetPage == page else { return }
        setenv("SHEETSYNC_FAULT_MID_WRITE", "1", 1)
    }
}
