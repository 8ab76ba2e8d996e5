import SheetSyncCore

/// Guesses a worksheet definition from sample records, for `sheetsync test --infer-schema`.
///
/// Each top-level member becomes a field; its type is the narrowest that fits every
/// sample: boolean, integer, decimal (numbers with a fraction: money is the common
/// case and decimals never lose digits), datetime and date (ISO strings), json
/// (objects and arrays), else text. Members that are always null become text.
public enum SchemaInference {
    public static func yaml(worksheet name: String, records: [JSONValue]) -> String {
        var order: [String] = []
        var types: [String: FieldType?] = [:]
        for record in records.prefix(500) {
            guard case .object(let object) = record else { continue }
            for member in object.members {
                if types[member.key] == nil { order.append(member.key); types[member.key] = .some(nil) }
                let guess = guessType(member.value)
                types[member.key] = .some(merge(types[member.key]!, guess))
            }
        }
        let fields = order.filter { WorksheetDefinition.isValidName($0) }
        let key = fields.first { $0 == "id" } ?? fields.first { $0.hasSuffix("_id") || $0 == "key" || $0 == "uuid" } ?? fields.first ?? "id"
        var lines = ["worksheet: \(name)", "key: [\(key)]", "fields:"]
        for field in fields {
            lines.append("  \(field): \(((types[field] ?? nil) ?? .text).rawValue)")
        }
        let skipped = order.filter { !WorksheetDefinition.isValidName($0) }
        if !skipped.isEmpty {
            lines.append("# members not usable as field names (rename them and map with $['...']): \(skipped.joined(separator: ", "))")
        }
        return lines.joined(separator: "\n")
    }

    static func guessType(_ value: JSONValue) -> FieldType? {
        switch value {
        case .null: return nil
        case .bool: return .boolean
        case .number(let literal):
            return literal.contains(".") || literal.contains("e") || literal.contains("E") ? .decimal : (Int64(literal) != nil ? .integer : .decimal)
        case .string(let text):
            if text.count >= 11, UTCDateTime(iso: text) != nil { return .datetime }
            if text.count == 10, CivilDate.parse(text) != nil { return .date }
            return .text
        case .array, .object: return .json
        }
    }

    static func merge(_ a: FieldType?, _ b: FieldType?) -> FieldType? {
        guard let a else { return b }
        guard let b else { return a }
        if a == b { return a }
        if Set([a, b]) == [.integer, .decimal] { return .decimal }
        if Set([a, b]) == [.date, .datetime] { return .datetime }
        if a == .json || b == .json { return .json }
        return .text
    }
}
