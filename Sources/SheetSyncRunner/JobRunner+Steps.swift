import Foundation
import SheetSyncCore
import SheetSyncHTTP
import SheetSyncStore
import SheetSyncTransform

extension JobRunner {
    /// What the setup steps left: the values they extracted, keyed `"<step>.<value>"` for
    /// `{{steps.<step>.<value>}}`, and the steps that failed with `on_failure: continue`.
    struct SetupOutcome {
        var values: [String: JSONValue] = [:]
        var failed: [String: HTTPStepError] = [:]

        /// When a request that uses a failed step's values cannot be built, the step's own
        /// error is the cause to report (its status and message), not the missing value.
        func cause(for request: HTTPRequestSpec, redactor: Redactor) -> RunFailure? {
            for template in request.templates {
                for reference in template.references where reference.source == .steps {
                    guard let name = reference.path.first, let error = failed[name] else { continue }
                    return RunFailure(error, message: redactor.redact("setup step '\(name)' failed, and the request uses its values ({{\(reference)}}): \(error.message)"))
                }
            }
            return nil
        }
    }

    /// Runs the setup steps in order and returns what they extracted and which failed.
    func runSetupSteps(_ steps: [RequestStep], values: TemplateValues, builder: RequestBuilder, redactor: Redactor,
                       run: Int64, summary: inout RunSummary, database: any WorksheetStore) async throws -> SetupOutcome {
        var outcome = SetupOutcome()
        for step in steps {
            var stepValues = values
            stepValues.steps = outcome.values
            let request: PreparedRequest
            switch Self.buildPage(builder, step.request, values: stepValues, walker: nil, position: PagePosition()) {
            case .success(let built): request = built
            case .failure(let error):
                throw outcome.cause(for: step.request, redactor: redactor)
                    ?? RunFailure(error, message: "Unable to build the request of step '\(step.name)', \(redactor.redact(error.message))")
            }
            let exchange = await transport.send(request, redactor: redactor)
            summary.requests += exchange.attempts.count
            try database.recordRequests(exchange.attempts, run: run)
            switch exchange.result {
            case .failure(let error):
                let message = "step '\(step.name)': \(error.message)"
                if step.request.onFailure == .continue {
                    summary.warnings.append(message + " (continued; requests that use its values will fail)")
                    outcome.failed[step.name] = error
                    continue
                }
                throw RunFailure(error, message: message)
            case .success(let response):
                let document = try Self.stepDocument(response, step: step.name)
                for value in step.values {
                    if let found = value.path?.value(in: document) { outcome.values["\(step.name).\(value.field)"] = found }
                }
            }
        }
        return outcome
    }

    /// A setup step's response as JSON; one that is not fails the run with the reader's
    /// error kept as the cause (a body that cannot be read back parses as empty).
    static func stepDocument(_ response: HTTPResponseData, step: String) throws(RunFailure) -> JSONValue {
        do {
            return try JSONReader.parse((try? response.bodyBytes()) ?? [])
        } catch {
            throw RunFailure(.invalidJSON, "step '\(step)': the response is not valid JSON", underlying: error)
        }
    }

    /// Runs the per-record steps for every row of a page and returns the rows to
    /// write, grouped by the columns they carry: a record whose step failed with
    /// `on_failure: continue` is written without that step's fields, so their
    /// stored values stay as they were; every other field updates normally.
    func enrich(_ page: TransformedPage, steps: [RequestStep], worksheet: WorksheetDefinition, values: TemplateValues,
                builder: RequestBuilder, redactor: Redactor, run: Int64, summary: inout RunSummary,
                database: any WorksheetStore) async throws -> (batches: [RowBatch], failures: [StepFailure]) {
        guard !steps.isEmpty, !page.rows.rows.isEmpty else { return ([page.rows], []) }
        let stepFields = steps.flatMap(\.fields).map(\.field)
        let count = page.rows.rows.count
        var extra = [[String: SQLValue]](repeating: [:], count: count)
        var omitted = [Set<String>](repeating: [], count: count)
        var failures: [StepFailure] = []
        let keyIndexes = worksheet.key.compactMap { page.rows.columns.firstIndex(of: $0) }

        for step in steps {
            let outcomes = await call(step, for: page, worksheet: worksheet, values: values, builder: builder, redactor: redactor)
            let attempts = outcomes.flatMap(\.attempts)
            summary.requests += attempts.count
            try database.recordRequests(attempts, run: run)
            for outcome in outcomes.sorted(by: { $0.index < $1.index }) {
                switch outcome.result {
                case .success(let row):
                    extra[outcome.index].merge(row) { $1 }
                case .failure(let message):
                    let key = keyIndexes.map { page.rows.rows[outcome.index][$0] }
                    if step.request.onFailure == .terminate {
                        throw RunFailure(.stepFailed, "step '\(step.name)' failed for record [\(key.map(\.jsonValue.jsonText).joined(separator: ", "))]: \(message)")
                    }
                    omitted[outcome.index].formUnion(step.fields.map(\.field))
                    failures.append(StepFailure(step: step.name, key: key, error: message))
                }
            }
        }
        // Counted by the run (`RunSummary.stepFailures`) and said once at its end, not per page.
        // Group rows by the step fields they leave out, so each group is one column set.
        var groups: [Set<String>: RowBatch] = [:]
        for index in 0..<count {
            let leave = omitted[index]
            let columns = page.rows.columns + stepFields.filter { !leave.contains($0) }
            let row = page.rows.rows[index] + stepFields.filter { !leave.contains($0) }.map { extra[index][$0] ?? .null }
            groups[leave, default: RowBatch(columns: columns)].rows.append(row)
        }
        return (groups.sorted { $0.key.count < $1.key.count }.map(\.value), failures)
    }
}

extension JobRunner {
    /// One outcome of a per-record step call: which row, what it gave, its requests.
    typealias StepOutcome = (index: Int, result: StepResult, attempts: [RequestAttempt])

    /// Calls `step` once for every row of `page`, at most `step.concurrency` at a time.
    func call(_ step: RequestStep, for page: TransformedPage, worksheet: WorksheetDefinition, values: TemplateValues,
              builder: RequestBuilder, redactor: Redactor) async -> [StepOutcome] {
        let mapper = FieldMapper(checked: step.fields, in: worksheet)
        let transport = self.transport
        let count = page.rows.rows.count
        var outcomes: [StepOutcome] = []
        await withTaskGroup(of: StepOutcome.self) { group in
            var next = 0
            func launch() {
                guard next < count else { return }
                let index = next
                next += 1
                var recordValues = values
                if case .object(let object) = page.sourceRecords[index] {
                    recordValues.record = Dictionary(object.members.map { ($0.key, $0.value) }, uniquingKeysWith: { $1 })
                }
                group.addTask {
                    let request: PreparedRequest
                    switch Self.buildPage(builder, step.request, values: recordValues, walker: nil, position: PagePosition()) {
                    case .success(let built): request = built
                    case .failure(let error): return (index, .failure(redactor.redact(error.message)), [])
                    }
                    let exchange = await transport.send(request, redactor: redactor)
                    switch exchange.result {
                    case .failure(let error): return (index, .failure(error.message), exchange.attempts)
                    case .success(let response):
                        guard let document = try? JSONReader.parse((try? response.bodyBytes()) ?? []) else {
                            return (index, .failure("the response is not valid JSON"), exchange.attempts)
                        }
                        do {
                            return (index, .success(try mapper.values(from: document)), exchange.attempts)
                        } catch {
                            return (index, .failure("\(error)"), exchange.attempts)
                        }
                    }
                }
            }
            for _ in 0..<step.concurrency { launch() }
            while let outcome = await group.next() {
                outcomes.append(outcome)
                launch()
            }
        }
        return outcomes
    }
}

/// What one per-record step call gave: field values, or why it failed.
enum StepResult: Sendable {
    case success([String: SQLValue])
    case failure(String)
}
