import SheetSyncCore
import Yams

/// Decodes `schema/<name>.yml` into a `WorksheetDefinition`.
///
/// ```yaml
/// worksheet: orders          # optional, default the file name
/// description: Orders from the shop
/// key: [id]                  # required: the fields that identify a record
/// fields:
///   id: text
///   total: decimal
///   note: { type: text, description: free text }
/// ```
struct SchemaFileDecoder {
    static let rootKeys = ["worksheet", "description", "key", "fields"]
    static let fieldKeys = ["type", "description"]

    let reader: NodeReader
    var sink: DiagnosticSink { reader.sink }

    init(sink: DiagnosticSink) {
        self.reader = NodeReader(sink: sink)
    }

    func decode(_ text: String, defaultName: String) -> WorksheetDefinition? {
        guard let root = sink.compose(text) else {
            if !sink.hasErrors { sink.error("the file is empty; a worksheet needs 'key' and 'fields'", at: nil) }
            return nil
        }
        guard let mapping = reader.mapping(root, context: "", allowed: Self.rootKeys) else { return nil }

        var name = defaultName
        if let node = mapping.value("worksheet"), let value = reader.string(node, "worksheet") {
            if WorksheetDefinition.isValidName(value) {
                name = value
            } else {
                sink.error("invalid worksheet name '\(value)'; use letters, digits and '_', not starting with a digit or '_'", at: node.mark)
            }
        }
        let description = mapping.value("description").flatMap { reader.string($0, "description") }

        var fields: [WorksheetDefinition.Field] = []
        if let node = reader.required("fields", in: mapping, hint: " (the worksheet's columns, such as 'id: text')"),
           node.mapping == nil {
            sink.error("expected a mapping of field names to types for 'fields', found \(reader.describe(node))", at: node.mark)
        }
        if let node = mapping.value("fields"), let pairs = node.mapping {
            if pairs.isEmpty { sink.error("'fields' is empty; a worksheet needs at least one field", at: node.mark) }
            if pairs.count > WorksheetDefinition.maxFields {
                sink.error("'fields' has \(pairs.count) fields; a worksheet holds at most \(WorksheetDefinition.maxFields) (SQLite's limit of 2,000 columns less sheetsync's 4 system columns): split it into worksheets that share the key", at: node.mark)
            }
            for (keyNode, valueNode) in pairs {
                guard let fieldName = keyNode.scalar?.string else { continue }
                if let field = decodeField(name: fieldName, keyNode: keyNode, valueNode: valueNode) {
                    fields.append(field)
                }
            }
        }

        var key: [String] = []
        if let node = reader.required("key", in: mapping, hint: " (the fields that identify a record, such as 'key: [id]')"),
           let names = reader.stringList(node, "key") {
            let items = node.sequence.map(Array.init) ?? [node]
            for (index, keyName) in names.enumerated() {
                // Any declared field counts, even one with a bad type (reported once, above).
                let declared = mapping.value("fields")?.mapping?.keys.compactMap { $0.scalar?.string }
                if declared?.contains(keyName) ?? true {
                    key.append(keyName)
                } else {
                    let known = fields.map(\.name)
                    sink.error("key field '\(keyName)' is not one of the worksheet's fields\(Suggestion.didYouMean(keyName, in: known))", at: items[min(index, items.count - 1)].mark)
                }
            }
            if names.isEmpty { sink.error("'key' is empty; name at least one field", at: node.mark) }
        }
        for keyName in key {
            if let field = fields.first(where: { $0.name == keyName }), field.type == .json {
                sink.error("key field '\(keyName)' has type json; key fields must be text, integer, decimal, date or datetime", at: mapping.value("key")?.mark)
            }
        }
        guard !sink.hasErrors else { return nil }
        return WorksheetDefinition(name: name, key: key, fields: fields, description: description)
    }

    private func decodeField(name: String, keyNode: Node, valueNode: Node) -> WorksheetDefinition.Field? {
        if name.hasPrefix("_") {
            sink.error("field name '\(name)' starts with '_', which is reserved for sheetsync's system columns", at: keyNode.mark)
            return nil
        }
        guard WorksheetDefinition.isValidName(name) else {
            sink.error("invalid field name '\(name)'; use letters, digits and '_', not starting with a digit", at: keyNode.mark)
            return nil
        }
        var typeNode = valueNode
        var description: String?
        if valueNode.mapping != nil {
            guard let fieldMap = reader.mapping(valueNode, context: name, allowed: Self.fieldKeys),
                  let node = reader.required("type", in: fieldMap) else { return nil }
            typeNode = node
            description = fieldMap.value("description").flatMap { reader.string($0, "description") }
        }
        guard let typeName = reader.string(typeNode, name) else { return nil }
        guard let type = FieldType(rawValue: typeName) else {
            let known = FieldType.allCases.map(\.rawValue)
            sink.error("unknown type '\(typeName)' for field '\(name)'\(Suggestion.didYouMean(typeName, in: known)) (types: \(known.joined(separator: ", ")))", at: typeNode.mark)
            return nil
        }
        return WorksheetDefinition.Field(name: name, type: type, description: description)
    }
}
