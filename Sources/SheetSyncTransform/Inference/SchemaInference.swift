import SheetSyncCore

/// Guesses a worksheet definition from sample records, for `sheetsync test --infer-schema`:
/// the worksheet of a job without `fields:`, whose fields come from the members of the
/// same name.
///
/// Each top-level member becomes a field typed as `FieldTypeGuess` says over every
/// sample (objects and arrays are json). `sheetsync infer` (`WorksheetInference`)
/// goes further: nested members become fields with paths, arrays of objects children.
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
        FieldTypeGuess.guess(value)
    }

    static func merge(_ a: FieldType?, _ b: FieldType?) -> FieldType? {
        FieldTypeGuess.merge(a, b)
    }
}
