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
        var mapper: GetMultipleData
        do {
            mapper = try GetMultipleData(jobName: job.name, job: pull, worksheet: worksheet, worksheets: sheets)
        } catch {
            throw RunFailure(code: "invalid_job", message: error.message, continued: false)
        }
        var (values, redactor) = try self.values(for: job, params: params, window: window)
        mapper.redactor = redactor
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

        /// What follows the page at `position`, and the largest cursor so far.
        func decideNext(after position: PagePosition, response: HTTPResponseData, document: JSONValue, records: Int,
                        pageCursorMax: String?) throws -> PageDecision {
            cursorMax = CursorValue.max(cursorMax, pageCursorMax)
            guard walker != nil else { return PageDecision() }
            switch Self.decide(&walker!, after: position, response: response, document: document, records: records) {
            case .success(let value): return value
            case .failure(let error): throw RunFailure(code: "pagination_loop", message: error.message, continued: false)
            }
        }
        /// The state saved with a page: where to resume, or, after the last page, the cursor.
        func stateChanges(after decision: PageDecision) -> [String: String?] {
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
            return stateChanges
        }

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
                let decision: PageDecision
                if let spilled = response.spilled, pull.perRecordSteps.isEmpty,
                   let chain = GetMultipleData.streamingPath(records: pull.records, paginate: pull.paginate) {
                    // A body too large for memory: map and write it a batch of records at a
                    // time, in the page's one transaction.
                    if let previous = inFlight {
                        summary.counts += try await previous.task.value
                        inFlight = nil
                    }
                    let requests = unrecorded
                    unrecorded = []
                    var streamed = StreamedPage()
                    do {
                        summary.counts += try database.writeInParts(into: worksheet, job: job.name, run: run, requests: requests) { sink in
                            let document = try Self.stream(spilled, chain: chain, mapper: mapper, sheets: sheets, into: sink, page: &streamed)
                            do {
                                streamed.decision = try decideNext(after: position, response: response, document: document,
                                                                   records: streamed.recordCount, pageCursorMax: streamed.cursorMax)
                            } catch let failure as RunFailure {
                                streamed.runFailure = failure
                                throw failure
                            }
                            return stateChanges(after: streamed.decision)
                        }
                    } catch {
                        unrecorded = requests
                        if let failure = streamed.runFailure { throw failure }
                        if let failure = streamed.failure {
                            throw RunFailure(code: failure.code, message: failure.code == "invalid_json"
                                             ? Self.notJSON(response, url: redactor.redact(request.url), failure.message) : failure.message,
                                             continued: continues)
                        }
                        throw error
                    }
                    summary.records += streamed.recordCount
                    summary.pages += 1
                    decision = streamed.decision
                } else {
                    let document: JSONValue
                    let page: TransformedPage
                    switch Self.read(response.body, with: mapper) {
                    case .success(let result): (document, page) = result
                    case .failure(.invalidJSON(let message)):
                        throw RunFailure(code: "invalid_json", message: Self.notJSON(response, url: redactor.redact(request.url), message), continued: continues)
                    case .failure(.unexpected(let message)):
                        throw RunFailure(code: "unexpected_response", message: message, continued: continues)
                    }
                    summary.records += page.recordCount
                    summary.pages += 1
                    decision = try decideNext(after: position, response: response, document: document, records: page.recordCount,
                                                  pageCursorMax: page.cursorMax)
                    let stateChanges = stateChanges(after: decision)
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
                }
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

    /// Streams a spilled body through the record splitter into `sink`, 1,000 records
    /// at a time; returns the document without its records, for pagination.
    static func stream(_ spilled: SpilledBody, chain: [String], mapper: GetMultipleData, sheets: [String: WorksheetDefinition],
                       into sink: PageSink, page: inout StreamedPage) throws -> JSONValue {
        var splitter = RecordSplitter(path: chain)
        var batch: [JSONValue] = []
        func flush(_ transformed: TransformedPage) throws {
            page.recordCount += transformed.recordCount
            page.cursorMax = CursorValue.max(page.cursorMax, transformed.cursorMax)
            let children = transformed.children.compactMap { child in sheets[child.worksheet].map { (child, $0) } }
            try sink.write(transformed.rows, children: children, rejects: transformed.rejects)
        }
        func flushBatch() throws {
            guard !batch.isEmpty else { return }
            do {
                try flush(try mapper.transform(records: batch))
            } catch let error as TransformError {
                page.failure = ("unexpected_response", error.message)
                throw error
            }
            batch.removeAll(keepingCapacity: true)
        }
        let document: JSONValue
        do {
            try spilled.forEachChunk { chunk in
                try splitter.feed(chunk) { element in
                    batch.append(try JSONReader.parse(element))
                    if batch.count == 1000 { try flushBatch() }
                }
            }
            try splitter.finish()
            document = try JSONReader.parse(splitter.skeleton)
        } catch let error as CoreError {
            page.failure = ("invalid_json", error.message)
            throw error
        }
        try flushBatch()
        if splitter.arrayFound {
            if mapper.job.records.value(in: document) != .array([]) {
                page.failure = ("unexpected_response", "the records path '\(mapper.job.records.text)' appears more than once in the response; it is ambiguous which holds the records")
                throw TransformError(page.failure!.message)
            }
        } else {
            do {
                try flush(try mapper.transform(document))
            } catch let error as TransformError {
                page.failure = ("unexpected_response", error.message)
                throw error
            }
        }
        return document
    }

    /// Why a response is not JSON, with what its headers say when they explain it: a
    /// content type that is not JSON, or a compression sheetsync never asked for.
    static func notJSON(_ response: HTTPResponseData, url: String, _ message: String) -> String {
        var hints: [String] = []
        if let type = response.header("Content-Type"), !type.lowercased().contains("json") {
            hints.append("Content-Type: \(type)")
        }
        if let encoding = response.header("Content-Encoding"), encoding.lowercased() != "identity" {
            hints.append("Content-Encoding: \(encoding), which sheetsync does not ask for and does not decode")
        }
        let context = hints.isEmpty ? "" : " (\(hints.joined(separator: "; ")))"
        return "the response of \(url) is not valid JSON\(context): \(message)"
    }

    static func read(_ body: [UInt8], with mapper: GetMultipleData) -> Result<(document: JSONValue, page: TransformedPage), PageReadError> {
        do {
            return .success(try mapper.read(body))
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

/// What streaming one large page found, filled in inside its write transaction.
struct StreamedPage {
    var recordCount = 0
    var cursorMax: String?
    var decision = PageDecision()
    /// Why the body could not be read as a page (code and message), when it could not.
    var failure: (code: String, message: String)?
    /// A pagination failure found before the commit.
    var runFailure: JobRunner.RunFailure?
}
