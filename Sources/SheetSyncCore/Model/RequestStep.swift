/// A named extra request of a pull job ("use the response in subsequent steps").
///
/// A step without `per_record` runs once before the main request, in order; the
/// values it extracts are `{{steps.<name>.<value>}}` for later steps and the main
/// request (log in, then fetch). A `per_record` step runs once for each record the
/// main request produced (with `{{record.…}}` set to that record), up to
/// `concurrency` at once, and its `fields` fill worksheet fields of that record.
public struct RequestStep: Sendable, Hashable {
    public var name: String
    public var perRecord: Bool
    public var request: HTTPRequestSpec
    /// Values a step extracts from its response: `token: $.access_token`.
    public var values: [FieldMapping]
    /// Worksheet fields a per-record step fills from its response.
    public var fields: [FieldMapping]
    public var concurrency: Int
    /// A per-record step sends the job request's headers too (its own win on the same name)
    /// when its URL starts on the job's origin; `inherit_headers: false` turns that off.
    public var inheritsHeaders = true

    public static let defaultConcurrency = 4

    public init(name: String, perRecord: Bool = false, request: HTTPRequestSpec, values: [FieldMapping] = [],
                fields: [FieldMapping] = [], concurrency: Int = RequestStep.defaultConcurrency) {
        self.name = name
        self.perRecord = perRecord
        self.request = request
        self.values = values
        self.fields = fields
        self.concurrency = concurrency
    }

    /// The headers of `job` this per-record step sends besides its own: none for a setup
    /// step, with `inherit_headers: false`, or when the step's URL does not start with the
    /// same origin part as the job's (the literal `scheme://host:port`, or the one template
    /// that stands for it, such as `{{env.API}}`) — credentials never go to another origin.
    /// Headers that read `{{page.…}}` are left out: a step has no page.
    public func inheritedHeaders(from job: HTTPRequestSpec) -> [NamedTemplate] {
        guard perRecord, inheritsHeaders, let origin = Self.originPart(of: request.url.text), origin == Self.originPart(of: job.url.text) else { return [] }
        let own = Set(request.headers.map { $0.name.lowercased() })
        return job.headers.filter { header in
            !own.contains(header.name.lowercased()) && !header.value.references.contains { $0.source == .page }
        }
    }

    /// The part of a URL template that names its origin: `https://api.example.com:8443`, or a
    /// leading template such as `{{env.API}}` (followed by `/` or nothing); nil otherwise.
    public static func originPart(of url: String) -> String? {
        if let scheme = url.range(of: "://"), url.hasPrefix("http") {
            let rest = url[scheme.upperBound...]
            let end = rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) ?? rest.endIndex
            let part = url[..<end]
            return part.contains("{{") ? nil : part.lowercased()
        }
        if url.hasPrefix("{{"), let close = url.range(of: "}}") {
            let after = url[close.upperBound...]
            guard after.isEmpty || after.hasPrefix("/") || after.hasPrefix("?") else { return nil }
            return String(url[..<close.upperBound]).replacingOccurrences(of: " ", with: "")
        }
        return nil
    }
}
