import SheetSyncCore

/// Takes typed field values out of JSON: the one place where a job's JSON path meets a
/// worksheet field's type. Get Multiple Data maps records with it, per-record steps map
/// their responses, and push jobs map `write_back` values from the receiver's answer.
public struct FieldMapper: Sendable {
    /// Each mapping with the type of the field it fills, in the order of the mappings.
    public let fields: [(mapping: FieldMapping, type: FieldType)]
    /// For each `$parent.NAME` mapping, the position of `NAME` in the parent's row.
    private let parentIndexes: [Int?]

    /// Mappings into `worksheet`; a field the worksheet does not have is an `.invalidJob`
    /// error. For a child worksheet, `parent` names the parent worksheet and the columns
    /// of its rows: each `$parent.NAME` must be one of them. Template sources must have
    /// been rendered (`PullJob.resolvingTemplates`).
    public init(_ mappings: [FieldMapping], in worksheet: WorksheetDefinition,
                parent: (worksheet: String, columns: [String])? = nil) throws(PageReadError) {
        var fields: [(mapping: FieldMapping, type: FieldType)] = []
        var parentIndexes: [Int?] = []
        for mapping in mappings {
            guard let field = worksheet.field(named: mapping.field) else {
                throw PageReadError(.invalidJob, "field '\(mapping.field)' is not in worksheet '\(worksheet.name)'")
            }
            if case .template(let template) = mapping.source {
                throw PageReadError(.invalidJob, "field '\(mapping.field)' comes from '\(template.text)', which was not rendered for this run")
            }
            fields.append((mapping, field.type))
            parentIndexes.append(try mapping.path.flatMap { path throws(PageReadError) in try Self.parentIndex(of: path, parent: parent) })
        }
        self.fields = fields
        self.parentIndexes = parentIndexes
    }

    /// Mappings whose fields were checked when the job was loaded; one the worksheet
    /// lacks (a schema changed since) is read as text.
    public init(checked mappings: [FieldMapping], in worksheet: WorksheetDefinition?) {
        fields = mappings.map { ($0, worksheet?.field(named: $0.field)?.type ?? .text) }
        parentIndexes = Array(repeating: nil, count: mappings.count)
    }

    /// Where `$parent.NAME` finds its value in the parent's row; nil for other paths.
    private static func parentIndex(of path: JSONPath, parent: (worksheet: String, columns: [String])?) throws(PageReadError) -> Int? {
        guard path.root == .parent else { return nil }
        let rest = String(path.text.dropFirst("$parent".count))
        guard let parent else {
            throw PageReadError(.invalidJob, "'\(path.text)' is only available in 'children' mappings")
        }
        guard path.components.count == 1, case .member(let name) = path.components[0] else {
            throw PageReadError(.invalidJob, "'\(path.text)' must name one field of '\(parent.worksheet)'; for a path inside the parent's JSON write '$parent_json\(rest)'")
        }
        guard let index = parent.columns.firstIndex(of: name) else {
            throw PageReadError(.invalidJob, "'\(path.text)' names no field mapped into '\(parent.worksheet)' (its fields here: \(parent.columns.joined(separator: ", "))); the parent's JSON is '$parent_json\(rest)'")
        }
        return index
    }

    /// Positions of the fields whose source is a path into the record itself (`$.…`): the
    /// ones `found` can say matched nothing.
    public var recordPathFields: [Int] {
        fields.indices.filter { if let path = fields[$0].mapping.path { path.root == .current } else { false } }
    }

    /// The field names, in order: the columns of `row(from:)`.
    public var columns: [String] { fields.map(\.mapping.field) }

    /// One value per field, in order; a missing member is NULL. Throws `.conversionFailed`
    /// naming the first field whose value does not convert to its type.
    ///
    /// For a child record, `parentRow` is its parent's row (`$parent.NAME`, converted
    /// again to the child field's type) and `parent` its parent's JSON (`$parent_json.…`);
    /// `response` is the `ResponseMetadata` document `$response.…` reads.
    public func row(from record: JSONValue, parent: JSONValue? = nil, parentRow: [SQLValue]? = nil,
                    response: JSONValue? = nil) throws(PageReadError) -> [SQLValue] {
        var found: [Bool] = []
        return try row(from: record, parent: parent, parentRow: parentRow, response: response, found: &found)
    }

    /// `row(from:…)`, also setting `found[i]` for each field `i` whose path found a member
    /// (null included) in the record, when `found` has a flag per field (an empty `found`
    /// is left alone): a path that finds nothing in any record is most likely a typo.
    public func row(from record: JSONValue, parent: JSONValue? = nil, parentRow: [SQLValue]? = nil,
                    response: JSONValue? = nil, found: inout [Bool]) throws(PageReadError) -> [SQLValue] {
        let tracking = found.count == fields.count
        var row: [SQLValue] = []
        row.reserveCapacity(fields.count)
        for (position, (mapping, type)) in fields.enumerated() {
            do {
                if let index = parentIndexes[position] {
                    row.append(try type.convert(stored: parentRow?[index] ?? .null))
                    continue
                }
                let value: JSONValue
                switch mapping.source {
                case .path(let path):
                    if path.root == .parent {
                        value = .null
                    } else if let present = path.value(in: record, parent: parent, response: response) {
                        value = present
                        if tracking { found[position] = true }
                    } else {
                        value = .null
                    }
                case .constant(let constant):
                    value = constant
                case .template:
                    value = .null // refused by init
                }
                row.append(try type.convert(value))
            } catch {
                throw PageReadError(.conversionFailed, "field '\(mapping.field)' (\(mapping.sourceText)): \(error.message)", underlying: error)
            }
        }
        return row
    }

    /// The same as a dictionary by field name.
    public func values(from record: JSONValue) throws(PageReadError) -> [String: SQLValue] {
        Dictionary(zip(columns, try row(from: record)), uniquingKeysWith: { $1 })
    }

    /// Only the fields whose value is present and converts: for `write_back`, where a
    /// receiver's odd answer must not undo a delivery that succeeded.
    public func convertibleValues(from document: JSONValue) -> [String: SQLValue] {
        var values: [String: SQLValue] = [:]
        for (mapping, type) in fields {
            if let value = mapping.path?.value(in: document), let converted = try? type.convert(value) { values[mapping.field] = converted }
        }
        return values
    }
}
