import SheetSyncCore

/// Takes typed field values out of JSON: the one place where a job's JSON path meets a
/// worksheet field's type. Get Multiple Data maps records with it, per-record steps map
/// their responses, and push jobs map `write_back` values from the receiver's answer.
public struct FieldMapper: Sendable {
    /// Each mapping with the type of the field it fills, in the order of the mappings.
    public let fields: [(mapping: FieldMapping, type: FieldType)]

    /// Mappings into `worksheet`; a field the worksheet does not have is an `.invalidJob` error.
    public init(_ mappings: [FieldMapping], in worksheet: WorksheetDefinition) throws(PageReadError) {
        var fields: [(mapping: FieldMapping, type: FieldType)] = []
        for mapping in mappings {
            guard let field = worksheet.field(named: mapping.field) else {
                throw PageReadError(.invalidJob, "field '\(mapping.field)' is not in worksheet '\(worksheet.name)'")
            }
            fields.append((mapping, field.type))
        }
        self.fields = fields
    }

    /// Mappings whose fields were checked when the job was loaded; one the worksheet
    /// lacks (a schema changed since) is read as text.
    public init(checked mappings: [FieldMapping], in worksheet: WorksheetDefinition?) {
        fields = mappings.map { ($0, worksheet?.field(named: $0.field)?.type ?? .text) }
    }

    /// The field names, in order: the columns of `row(from:)`.
    public var columns: [String] { fields.map(\.mapping.field) }

    /// One value per field, in order; a missing member is NULL. Throws `.conversionFailed`
    /// naming the first field whose value does not convert to its type.
    public func row(from record: JSONValue, parent: JSONValue? = nil) throws(PageReadError) -> [SQLValue] {
        var row: [SQLValue] = []
        row.reserveCapacity(fields.count)
        for (mapping, type) in fields {
            let value = mapping.path.value(in: record, parent: parent) ?? .null
            do {
                row.append(try type.convert(value))
            } catch {
                throw PageReadError(.conversionFailed, "field '\(mapping.field)' (\(mapping.path.text)): \(error.message)", underlying: error)
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
            if let value = mapping.path.value(in: document), let converted = try? type.convert(value) { values[mapping.field] = converted }
        }
        return values
    }
}
