import Foundation
import Logging
import SheetSyncCore
import SheetSyncFiles
import SheetSyncHTTP
import SheetSyncStore
import SheetSyncTransform

/// Runs jobs: request → Get Multiple Data → store, recording everything in the
/// database's run history. Wires the stage modules together; holds no state of its own.
public struct JobRunner: Sendable {
    public let project: Project
    /// `nil` only for previews of a project whose database does not exist yet.
    public let database: (any WorksheetStore)?
    public let transport: HTTPTransport
    public let logger: Logger
    /// Test hook: called at fixed points of a pull run (crash tests kill the process there).
    public let faults: FaultHook?
    /// Set by a daemon that shuts down: pull runs stop at their next page.
    public let stop: RunStopRequest?
    /// Called after each page a pull run has read (`sheetsync run` on a terminal shows it).
    public let progress: (@Sendable (RunProgress) -> Void)?

    public init(project: Project, database: (any WorksheetStore)?, transport: HTTPTransport, logger: Logger, faults: FaultHook? = nil,
                stop: RunStopRequest? = nil, progress: (@Sendable (RunProgress) -> Void)? = nil) {
        self.project = project
        self.database = database
        self.transport = transport
        self.logger = logger
        self.faults = faults
        self.stop = stop
        self.progress = progress
    }

    /// The HTTP transport for a project: its proxy (with the password from secrets) configured.
    /// A proxy secret that is not set fails only the requests that use the proxy.
    public static func makeTransport(for project: Project) throws(HTTPStepError) -> HTTPTransport {
        guard let proxy = project.settings.proxy else { return HTTPTransport() }
        let unset = proxyReferences(project).filter { $0.source == .secret && project.secrets.value($0.name) == nil }.map(\.name)
        if let name = unset.first {
            let file = project.settings.secretsFile.map { " or add it to \($0)" } ?? ""
            return HTTPTransport(proxyProblem: "the proxy in sheetsync.yml needs secret '\(name)', which is not set; export \(name)=…\(file) before running this job")
        }
        let values = templateValues(project: project, names: proxyReferences(project), params: [:], state: [:])
        do {
            let url = try proxy.url.renderText(values)
            guard let parsed = URL(string: url.contains("://") ? url : "http://" + url), let host = parsed.host else {
                throw HTTPStepError(.invalidRequest, "proxy url '\(url)' in sheetsync.yml is not a URL such as http://proxy.example:3128")
            }
            return HTTPTransport(proxy: .init(host: host, port: parsed.port ?? 80,
                                              username: try proxy.username?.renderText(values),
                                              password: try proxy.password?.renderText(values)))
        } catch let error as CoreError {
            throw HTTPStepError(.invalidRequest, "proxy in sheetsync.yml: \(error.message)")
        } catch let error as HTTPStepError {
            throw error
        } catch {
            throw HTTPStepError(.invalidRequest, "\(error)")
        }
    }

    // MARK: - Template values

    static func proxyReferences(_ project: Project) -> [TemplateReference] {
        guard let proxy = project.settings.proxy else { return [] }
        return ([proxy.url] + [proxy.username, proxy.password].compactMap { $0 }).flatMap(\.references)
    }

    /// Values for the job's templates. Only secrets the job names are looked up.
    static func templateValues(project: Project, names references: [TemplateReference], params: [String: String],
                               state: [String: String]) -> TemplateValues {
        var env = project.settings.env
        for (key, value) in project.environment { env[key] = value }
        var secrets: [String: String] = [:]
        for reference in references where reference.source == .secret {
            if let value = project.secrets.value(reference.name) { secrets[reference.name] = value }
        }
        return TemplateValues(env: env, secrets: secrets, params: params, state: state)
    }

    /// Template values for a job. `state.cursor` is the saved cursor moved back by
    /// `lookback`, else `incremental.start` as it is, else empty (fetch everything).
    func values(for job: JobDefinition, params: [String: String], window: BackfillWindow? = nil) throws(StoreError) -> (TemplateValues, Redactor) {
        var allParams = job.params
        for (key, value) in params { allParams[key] = value }
        let references = job.allTemplates.flatMap(\.references) + Self.proxyReferences(project)
        var state = try database?.state(job: job.name) ?? [:]
        if case .pull(let pull) = job.kind, let incremental = pull.incremental {
            // Lookback re-reads a window before the saved cursor; 'start' is used as it is.
            if let saved = state[StateKey.cursor] {
                state[StateKey.cursor] = CursorValue.applying(lookback: incremental.lookback, to: saved)
            } else {
                state[StateKey.cursor] = incremental.start ?? ""
            }
        }
        var values = Self.templateValues(project: project, names: references, params: allParams, state: state)
        if let window { values.window = ["start": window.start.description, "end": window.end.description] }
        return (values, Redactor(secrets: values.secrets.values))
    }

    /// `pull` with its template field sources rendered for this run: a template that is
    /// one reference keeps that value (`{{param.ip}}` → "1.2.3.4"), one with text around
    /// it becomes the text. The decoder refuses `{{secret.…}}` here.
    static func resolvingFieldTemplates(_ pull: PullJob, values: TemplateValues) throws(RunFailure) -> PullJob {
        do {
            return try pull.resolvingTemplates { template throws(CoreError) in
                if template.parts.count == 1, case .reference(let reference) = template.parts[0] {
                    return try values.value(of: reference)
                }
                return .string(try template.renderText(values))
            }
        } catch {
            throw RunFailure(.invalidJob, "a field's value cannot be made: \(error.message)", underlying: error)
        }
    }

    /// Masks the secrets `job` uses (and the proxy's): the last check on every message a
    /// run records, whatever produced it.
    func redactor(for job: JobDefinition) -> Redactor {
        let references = job.allTemplates.flatMap(\.references) + Self.proxyReferences(project)
        return Redactor(secrets: references.filter { $0.source == .secret }.compactMap { project.secrets.value($0.name) })
    }

    func worksheetsByName() -> [String: WorksheetDefinition] {
        Dictionary(uniqueKeysWithValues: project.worksheets.map { ($0.name, $0) })
    }

    // MARK: - Running a pull job

    /// Runs `job` once and records the run. Never throws: every failure becomes a
    /// failed run with a message that says what to do.
    public func run(_ job: JobDefinition, params: [String: String] = [:], trigger: RunTrigger = .cli,
                    window: BackfillWindow? = nil) async -> RunSummary {
        let started = ContinuousClock.now
        var summary = RunSummary(job: job.name, status: .running)
        guard case .pull(let pull) = job.kind else {
            summary.status = .failed
            summary.errorMessage = "'\(job.name)' is a push job: send its changes with 'sheetsync push \(job.name)'"
            return summary
        }
        summary.worksheets = [job.worksheet] + pull.allChildren.map(\.worksheet)
        guard let database else {
            summary.status = .failed
            summary.errorMessage = "no database is open"
            return summary
        }
        do {
            // New fields get their columns first; destructive changes need 'migrate --allow-destructive'.
            try database.migrate(project.worksheets, captured: project.capturedWorksheets, pushJobs: project.pushJobWorksheets)
            summary.run = try database.beginRun(job: job.name, trigger: trigger)
        } catch {
            summary.status = .failed
            summary.errorCode = error.code.rawValue
            summary.errorMessage = error.message
            summary.duration = ContinuousClock.now - started
            return summary
        }
        let run = summary.run!
        var logger = self.logger
        logger[metadataKey: "job"] = "\(job.name)"
        logger[metadataKey: "run"] = "\(run)"
        // Once per run, where the user sees it: the summary's warnings and the log.
        let insecure = [("request", pull.request)] + pull.steps.map { ("step '\($0.name)'", $0.request) }
        for (name, spec) in insecure where !spec.verifyTLS {
            let warning = "TLS certificate verification is off for the \(name) of job '\(job.name)' (verify_tls: false): anyone on the network path can read and change this traffic; use 'ca_file' for a private CA instead"
            summary.warnings.append(warning)
            logger.warning("\(warning)")
        }
        do {
            let pullRun = try PullRun(runner: self, job: job, pull: pull, params: params, run: run, window: window,
                                      summary: summary, logger: logger, database: database)
            do {
                let status = try await pullRun.execute()
                summary = pullRun.summary
                summary.status = status
            } catch {
                summary = pullRun.summary
                throw error
            }
        } catch {
            var failure = RunFailure(wrapping: error)
            if Task.isCancelled, failure.code != .interrupted {
                // The grace period of a shutdown ran out (setup steps): the shutdown's doing, not the API's.
                failure = RunFailure(.interrupted, "stopped by shutdown: the grace period ran out during the run", underlying: error)
            }
            summary.status = failure.code == .interrupted ? .interrupted : failure.continued ? .partial : .failed
            summary.errorCode = failure.recordedCode
            summary.errorMessage = redactor(for: job).redact(failure.message)
            summary.errorStatus = failure.httpStatus
            // Coded failures only; a shutdown is news, not an error. A run from the command
            // line or a backfill prints its summary with the error: logged again it would
            // show twice (issue 18), so there it is a debug line.
            if failure.code != .unclassified {
                let level: Logger.Level = trigger == .cli || trigger == .backfill ? .debug : failure.code == .interrupted ? .notice : .error
                logger.log(level: level, "\(summary.errorMessage ?? "")")
            }
        }
        summary.duration = ContinuousClock.now - started
        // What the run recorded and prints passes the redactor once more as a whole: no
        // warning or stop reason may carry a secret a server echoed (each is built from the
        // job's own text today; this keeps it so).
        let redactor = redactor(for: job)
        summary.warnings = summary.warnings.map(redactor.redact)
        summary.stopReason = summary.stopReason.map(redactor.redact)
        do {
            try database.finishRun(run, status: summary.status, counts: summary.counts, requests: summary.requests,
                                   errorCode: summary.errorCode, errorMessage: summary.errorMessage, details: summary.details)
        } catch {
            logger.error("could not record the end of run \(run): \(error.message)")
        }
        // Backfill windows report in their own output; every other run may notify.
        if trigger != .backfill { await notifyAfterRun(job, run: run, status: summary.status, errorMessage: summary.errorMessage) }
        return summary
    }
}

/// How far a pull run has got: pages read, records in them, time since the run began.
public struct RunProgress: Sendable {
    public var job: String
    public var pages: Int
    public var records: Int
    public var elapsed: Duration
}
