import SheetSyncCore
import SheetSyncHTTP

/// A job's first response page, parsed: what `sheetsync infer` proposes worksheets from.
public struct SampleResponse: Sendable {
    /// The request as sent, secrets masked.
    public var request: RequestPreview?
    public var document: JSONValue?
    /// Why there is no document: the request could not be built or sent, failed, or
    /// the body is not JSON.
    public var error: String?
}

extension JobRunner {
    /// Sends a pull job's first request once (pagination's first page, the saved cursor)
    /// and parses the response. Unlike `preview`, the job's worksheet need not exist:
    /// nothing is mapped. Nothing is written.
    public func sample(_ job: JobDefinition, params: [String: String] = [:]) async -> SampleResponse {
        var sample = SampleResponse()
        guard case .pull(let pull) = job.kind else {
            sample.error = "'\(job.name)' is a push job; infer reads the response of a pull job"
            return sample
        }
        let values: TemplateValues
        let redactor: Redactor
        do {
            (values, redactor) = try self.values(for: job, params: params)
        } catch {
            sample.error = error.message
            return sample
        }
        let request: PreparedRequest
        switch firstPage(pull, values: values, redactor: redactor) {
        case .success(let built):
            request = built.request
            sample.request = built.preview
        case .failure(let error):
            sample.error = "Unable to build the request for job '\(job.name)', \(redactor.redact(error.message))"
            return sample
        }
        let exchange = await transport.send(request, redactor: redactor)
        switch exchange.result {
        case .failure(let error):
            sample.error = error.message
        case .success(let response):
            let response = Self.inMemory(response)
            do {
                sample.document = try JSONReader.parse(response.body)
            } catch {
                sample.error = Self.notJSON(response, url: redactor.redact(request.url), error.message)
            }
        }
        return sample
    }

    /// The request of a pull job's first page (pagination's first position, the saved
    /// cursor), and how it shows with secrets masked: what `test` and `infer` send.
    func firstPage(_ pull: PullJob, values: TemplateValues, redactor: Redactor) -> Result<(request: PreparedRequest, preview: RequestPreview), HTTPStepError> {
        let builder = RequestBuilder(projectDirectory: project.directory, userAgent: project.settings.http.userAgent,
                                     defaultMaxResponseBytes: project.settings.http.maxResponseBytes)
        let walker = pull.paginate.map(PageWalker.init)
        var pageValues = values
        if let walker { pageValues.page = walker.templateValues(walker.first()) }
        return Self.buildPage(builder, pull.request, values: pageValues, walker: walker, position: walker?.first() ?? PagePosition()).map { request in
            (request, RequestPreview(method: request.method.rawValue, url: redactor.redact(request.url),
                                     headers: request.headers.map { ($0.name, redactor.redact($0.value)) },
                                     body: request.body.map { redactor.excerpt(bytes: $0, limit: 2000) }))
        }
    }
}
