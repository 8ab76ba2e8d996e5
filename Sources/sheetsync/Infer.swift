import ArgumentParser
import Foundation
import SheetSyncCore
import SheetSyncFiles
import SheetSyncHTTP
import SheetSyncRunner
import SheetSyncStore
import SheetSyncTransform

/// `sheetsync infer [JOB]`: proposes `schema/*.yml` worksheets and the job's `fields:` and
/// `children:` from a sample response (the job's live first page, or a saved file).
struct Infer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Propose worksheets (schema/*.yml) and a job's fields: and children: from a sample response.",
        discussion: paragraphs("""
            The sample is the job's first response page (the request is sent once; nothing is written to the \
            database), or a saved response body with --response. Without a job, pass --response and --worksheet \
            (and --records unless the file's top level holds the records). Types are inferred over every sampled \
            record; nested objects become fields with paths, arrays of objects child worksheets linked with \
            $parent; the key is guessed and marked as a guess in the schema file.

            Without --write the proposal is printed. With --write the schema files are created and the block is \
            appended to the job file (or, without a job and with --url, jobs/WORKSHEET.yml is created). An \
            existing schema file, a job that already has fields: or children:, or an existing job file is never \
            overwritten: the command refuses and writes nothing.
            """)
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The pull job whose request gives the sample (a file in jobs/ without .yml); omit it to infer from --response alone.")
    var job: String?

    @Option(name: .customLong("param"), help: ArgumentHelp("A value for {{param.KEY}} (repeatable).", valueName: "key=value"),
            transform: JobParameter.parse)
    var parameters: [JobParameter] = []

    @Option(name: .customLong("response"), help: ArgumentHelp("Infer from this saved response body (a JSON file) instead of sending the job's request.", valueName: "file"))
    var response: String?

    @Option(name: .customLong("records"), help: ArgumentHelp("The JSON path of the records (default: the job's 'records', else '$').", valueName: "path"))
    var records: String?

    @Option(name: .customLong("worksheet"), help: ArgumentHelp("The worksheet to propose, without a job (a job names its own).", valueName: "name"))
    var worksheet: String?

    @Option(name: .customLong("key"), help: ArgumentHelp("The key field(s) instead of a guess: a proposed field name (repeatable, or comma-separated).", valueName: "field"))
    var keyOptions: [String] = []

    @Option(name: .customLong("url"), help: ArgumentHelp("Without a job: with --write, also create jobs/WORKSHEET.yml requesting this URL (a template).", valueName: "url"))
    var url: String?

    @Flag(help: "Create the schema files and add the mapping to the job (never overwriting).")
    var write = false

    var key: [String]? {
        let names = keyOptions.flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        return names.isEmpty ? nil : names
    }

    func validate() throws {
        if job == nil {
            guard response != nil, worksheet != nil else {
                throw ValidationError("name a pull job (sheetsync infer JOB), or pass --response FILE and --worksheet NAME to infer from a saved response alone")
            }
            if !parameters.isEmpty { throw ValidationError("--param fills a job's templates; it needs a job") }
        } else {
            if worksheet != nil { throw ValidationError("--worksheet names the worksheet when there is no job; job '\(job!)' names its own ('worksheet:' in its file)") }
            if url != nil { throw ValidationError("--url is for a new job written without one; job '\(job!)' has its request") }
        }
        if let worksheet, !WorksheetDefinition.isValidName(worksheet) {
            throw ValidationError("invalid worksheet name '\(worksheet)'; use letters, digits and '_', not starting with a digit or '_'")
        }
        if let records {
            do {
                let path = try JSONPath(parsing: records)
                if path.root != .current { throw ValidationError("--records is a path into the response, starting with '$', such as '$.data'") }
            } catch let error as CoreError {
                throw ValidationError("--records '\(records)': \(error.message)")
            }
        }
        if url != nil, !write { throw ValidationError("--url only says what to write: add --write") }
    }

    /// Where the sample comes from and what to propose, resolved from the job or the options.
    struct Plan {
        var worksheet: String
        var records: JSONPath
        var key: [String]?
        var keySource: InferredWorksheet.KeySource
        /// The job file to append to, when there is a job.
        var draft: DraftJob?
        /// Whether the job lacks `records:` and `--records` gave one: it is appended too.
        var addsRecords: Bool
    }

    func run() async throws {
        let project = global.loadProject()
        let plan = try makePlan(project: project)
        let (document, source) = try await sampleDocument(project: project, plan: plan)
        let inferred: InferredWorksheet
        do {
            let objects = try WorksheetInference.records(at: plan.records, in: document)
            if plan.records.components.isEmpty, case .object = document, let hint = WorksheetInference.recordPathHint(in: document) {
                Output.err("note: the records path is '$', so the whole response is one record; \(hint) (--records)")
            }
            inferred = try WorksheetInference().infer(worksheet: plan.worksheet, records: plan.records, sample: objects,
                                                      key: plan.key, keySource: plan.keySource)
        } catch {
            Output.err("error: Unable to infer worksheet '\(plan.worksheet)' from \(source), \(error.message)")
            throw ExitCode.failure
        }
        let proposal = InferProposal(inferred: inferred, plan: plan, source: source, url: url)
        if !write {
            Output.out(proposal.printed)
            let missing = inferred.allWorksheets.filter { $0.key.isEmpty }
            for sheet in missing {
                Output.err("error: no key for worksheet '\(sheet.name)': \(sheet.missingKeyReason ?? "none given"); \(sheet.parent == nil ? "pass --key FIELD (a proposed field)" : "edit its schema and mapping by hand")")
            }
            if !missing.isEmpty { throw ExitCode.failure }
            Output.err("note: nothing written; add --write to create \(proposal.targets.joined(separator: ", "))")
            return
        }
        try proposal.write(project: project)
    }

    func makePlan(project: Project) throws -> Plan {
        guard let job else {
            let path = try records.map { try JSONPath(parsing: $0) } ?? JSONPath(components: [], text: "$")
            return Plan(worksheet: worksheet!, records: path, key: key, keySource: .given, draft: nil, addsRecords: false)
        }
        guard let draft = ProjectLoader.loadDraftJob(named: job, in: project) else {
            let known = (try? FileManager.default.contentsOfDirectory(atPath: project.directory.appendingPathComponent("jobs").path))?
                .filter { $0.hasSuffix(".yml") || $0.hasSuffix(".yaml") }
                .map { String($0.prefix(upTo: $0.lastIndex(of: ".")!)) }.sorted() ?? []
            Output.err("error: no job '\(job)' in \(project.directory.path)/jobs/\(Suggestion.didYouMean(job, in: known))\(known.isEmpty ? "" : " (jobs: \(known.joined(separator: ", ")))")")
            throw ExitCode.failure
        }
        guard let definition = draft.job else {
            Output.report(draft.diagnostics)
            Output.err("Fix the problems above in \(draft.file), then try again (a worksheet without a schema file is fine: infer proposes it).")
            throw ExitCode.failure
        }
        guard case .pull(let pull) = definition.kind else {
            Output.err("error: '\(job)' is a push job; infer proposes worksheets from a pull job's response")
            throw ExitCode.failure
        }
        var path = pull.records
        var addsRecords = false
        if let records {
            let given = try JSONPath(parsing: records)
            if draft.keys.contains("records"), given.text != pull.records.text {
                Output.err("error: job '\(job)' reads its records at '\(pull.records.text)' and --records says '\(records)'; change 'records:' in \(draft.file), or leave out --records")
                throw ExitCode.failure
            }
            addsRecords = !draft.keys.contains("records")
            path = given
        }
        if let key {
            return Plan(worksheet: definition.worksheet, records: path, key: key, keySource: .given, draft: draft, addsRecords: addsRecords)
        }
        return Plan(worksheet: definition.worksheet, records: path, key: pull.key, keySource: pull.key == nil ? .given : .job,
                    draft: draft, addsRecords: addsRecords)
    }

    /// The sample document and a description of where it came from, for messages.
    func sampleDocument(project: Project, plan: Plan) async throws -> (JSONValue, String) {
        if let response {
            guard let data = FileManager.default.contents(atPath: response) else {
                let exists = FileManager.default.fileExists(atPath: response)
                Output.err("error: Unable to read the saved response '\(response)', \(exists ? "it cannot be read (check its permissions)" : "there is no such file"). Pass the path of a file holding a response body, such as one saved with 'curl -o FILE URL'.")
                throw ExitCode.failure
            }
            do {
                return (try JSONReader.parse(Array(data)), "'\(response)'")
            } catch {
                Output.err("error: Unable to read the saved response '\(response)', it is not JSON: \(error.message). Save the response body itself (no headers), such as with 'curl -o FILE URL'.")
                throw ExitCode.failure
            }
        }
        guard let definition = plan.draft?.job else { throw ExitCode.failure }
        let runner: JobRunner
        do {
            // An existing database gives the saved cursor ({{state.cursor}}); none is created.
            runner = JobRunner(project: project, database: global.databaseExists(for: project) ? try global.openStore(for: project) : nil,
                               transport: try JobRunner.makeTransport(for: project), logger: global.makeLogger())
        } catch let error as ExitCode {
            throw error
        } catch {
            Output.err("error: \(describe(error))")
            throw ExitCode.failure
        }
        var params = definition.params
        for parameter in parameters { params[parameter.key] = parameter.value }
        let sample = await runner.sample(definition, params: params)
        await runner.transport.shutdown()
        if let request = sample.request { Output.err("note: sampled \(request.method) \(request.url)") }
        guard let document = sample.document else {
            Output.err("error: Unable to sample job '\(definition.name)', \(sample.error ?? "no response"). Fix the request (sheetsync test \(definition.name) shows the response), or save a response and pass --response FILE.")
            throw ExitCode.failure
        }
        let source = "the first response page of job '\(definition.name)'"
        return (document, source)
    }
}

/// The message of sheetsync's coded errors, else the description.
private func describe(_ error: any Error) -> String {
    switch error {
    case let error as PageReadError: error.message
    case let error as CoreError: error.message
    case let error as StoreError: error.message
    case let error as HTTPStepError: error.message
    default: "\(error)"
    }
}
