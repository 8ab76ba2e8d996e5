import SheetSyncCore
import SheetSyncHTTP
import SheetSyncStore
import SheetSyncTransform

/// A request as it will be sent, with secrets masked.
public struct RequestPreview: Sendable {
    public var method: String
    public var url: String
    public var headers: [(name: String, value: String)]
    public var body: String?
}

/// What `run --dry-run` and `test` show: the request, the response and the rows it
/// would become. Nothing is written to the database.
public struct PreviewReport: Sendable {
    public var request: RequestPreview?
    public var response: HTTPResponseData?
    public var document: JSONValue?
    public var records: [JSONValue] = []
    public var page: TransformedPage?
    public var error: String?
    /// What the user should know about what is shown (e.g. a push test's record fails `when`).
    public var notes: [String] = []
    public var redactor = Redactor(secrets: [])
    public var worksheets: [WorksheetDefinition] = []
}

extension JobRunner {
    /// A preview shows the whole response: a spilled body is read back into memory.
    static func inMemory(_ response: HTTPResponseData) -> HTTPResponseData {
        var response = response
        if response.spilled != nil, let bytes = try? response.bodyBytes() {
            response.body = bytes
            response.spilled = nil
        }
        return response
    }

    /// Sends the job's request once and maps the response, writing nothing.
    ///
    /// With `savedResponse` (the bytes of a response saved to a file), nothing is requested:
    /// the saved body is mapped as if the first page had answered it (offline job tests).
    public func preview(_ job: JobDefinition, params: [String: String] = [:], savedResponse: [UInt8]? = nil) async -> PreviewReport {
        var report = PreviewReport()
        guard case .pull(let pull) = job.kind else {
            report.error = "'\(job.name)' is a push job: preview what it would send with 'sheetsync push \(job.name) --dry-run'"
            return report
        }
        guard let worksheet = project.worksheet(named: job.worksheet) else {
            report.error = "worksheet '\(job.worksheet)' is not defined in schema/"
            return report
        }
        let sheets = worksheetsByName()
        report.worksheets = [worksheet] + pull.allChildren.compactMap { sheets[$0.worksheet] }
        let values: TemplateValues
        let redactor: Redactor
        do {
            (values, redactor) = try self.values(for: job, params: params)
        } catch {
            report.error = error.message
            return report
        }
        report.redactor = redactor
        let exchange: HTTPExchange
        switch firstPage(pull, values: values, redactor: redactor) {
        case .success(let (request, preview)):
            report.request = preview
            if let savedResponse {
                exchange = HTTPExchange(attempts: [], result: .success(HTTPResponseData(status: 200, headers: [], body: savedResponse, url: request.url)))
            } else {
                exchange = await transport.send(request, redactor: redactor)
            }
        case .failure(let error):
            // Offline, the request is only shown: one that cannot be built here (an unset
            // secret, a parameter without value) does not stop the mapping test.
            guard let savedResponse else {
                report.error = "Unable to build the request for job '\(job.name)', \(redactor.redact(error.message))"
                return report
            }
            exchange = HTTPExchange(attempts: [], result: .success(HTTPResponseData(status: 200, headers: [], body: savedResponse, url: "")))
        }
        switch exchange.result {
        case .failure(let error):
            report.error = error.message
            // The failed response is what the user needs to see: shown like a successful one.
            if let response = error.response {
                report.response = Self.inMemory(response)
                report.document = try? JSONReader.parse(report.response!.body)
            }
            return report
        case .success(let response):
            report.response = Self.inMemory(response)
        }
        do {
            let response = report.response!
            var mapper = try GetMultipleData(jobName: job.name, job: try Self.resolvingFieldTemplates(pull, values: values),
                                             worksheet: worksheet, worksheets: sheets)
            mapper.redactor = redactor
            let metadata = PullRun.metadata(response)
            if response.body.allSatisfy(PageReader.isWhiteSpace) {
                // No body (a HEAD, a 204): the page reader decides what it becomes.
                let (document, page) = try PageReader(mapper: mapper).read(response.body, metadata: metadata)
                report.document = document
                report.records = Array(repeating: document, count: page.recordCount)
                report.page = page
                return report
            }
            let document = try JSONReader.parse(response.body)
            report.document = document
            report.records = try mapper.records(in: document)
            report.page = try mapper.transform(document, metadata: metadata)
        } catch let error as RunFailure {
            report.error = error.message
        } catch let error as CoreError {
            report.error = "the response is not valid JSON: \(error.message)"
        } catch let error as PageReadError {
            report.error = error.message
        } catch {
            report.error = "\(error)"
        }
        return report
    }
}
