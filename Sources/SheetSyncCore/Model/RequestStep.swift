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
}
