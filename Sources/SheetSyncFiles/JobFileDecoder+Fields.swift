import SheetSyncCore
import Yams

/// Where each worksheet field of a job takes its value from (`FieldMapping.Source`): a
/// JSON path (with `$parent…` in children), `$response.…`, a template of run values or a
/// constant; and what a HEAD job may map.
extension JobFileDecoder {
    /// A HEAD response has no body: its row comes from `$response.…`, templates and
    /// constants, and there are no pages.
    func checkHeadJob(fields: [FieldMapping], paginate: PaginationSpec?, mapping: NodeReader.Mapping) {
        let mark = mapping.keyNode("fields")?.mark ?? mapping.node.mark
        if let bodyField = fields.first(where: { $0.path?.root == .current }) {
            sink.error("field '\(bodyField.field)' reads '\(bodyField.sourceText)', but a HEAD response has no body; map '$response.status' or '$response.headers.NAME' instead", at: mark)
        } else if !fields.contains(where: { $0.path?.root == .response }) {
            sink.error("a HEAD response has no body: map its fields from '$response.status' and '$response.headers.NAME', such as 'etag: $response.headers.etag'", at: mark)
        }
        if paginate != nil {
            sink.error("a HEAD request has no pages (its response has no body to read the next page from); remove 'paginate'", at: mapping.keyNode("paginate")?.mark)
        }
    }

    /// `parent` is the parent worksheet of a child mapping and the fields its mapping
    /// fills: the names `$parent.NAME` may take. With `allowValues` (a pull job's fields and
    /// its children's), a field may also come from `$response.…`, a template of run values
    /// or a constant (`FieldMapping.Source`); `scope` checks the template's references.
    func decodeFieldMappings(_ node: Node, context: String, worksheet: WorksheetDefinition?, allowParent: Bool,
                                     parent: (worksheet: WorksheetDefinition, fields: [String])? = nil,
                                     allowValues: Bool = false, scope: TemplateScope? = nil) -> [FieldMapping] {
        guard let pairs = node.mapping else {
            sink.error("expected a mapping of worksheet fields to JSON paths for '\(context)', found \(reader.describe(node))", at: node.mark)
            return []
        }
        var result: [FieldMapping] = []
        for (keyNode, valueNode) in pairs {
            guard let field = keyNode.scalar?.string else { continue }
            if let worksheet, worksheet.field(named: field) == nil {
                sink.error("field '\(field)' is not in worksheet '\(worksheet.name)'\(Suggestion.didYouMean(field, in: worksheet.fields.map(\.name)))", at: keyNode.mark)
                continue
            }
            if allowValues, let source = decodeValueSource(valueNode, context: "\(context).\(field)", scope: scope) {
                if case .failed = source { continue }
                if case .found(let source) = source { result.append(FieldMapping(field: field, source: source)) }
                continue
            }
            guard let path = reader.jsonPath(valueNode, "\(context).\(field)") else { continue }
            if path.root == .response {
                // With `allowValues`, `decodeValueSource` took it.
                sink.error("'$response' is only available in a pull job's 'fields' and its children's", at: valueNode.mark)
                continue
            }
            if path.root != .current, !allowParent {
                sink.error("'\(path.root == .parent ? "$parent" : "$parent_json")' is only available in 'children' mappings", at: valueNode.mark)
                continue
            }
            if path.root == .parent, let parent, let problem = parentFieldProblem(path, parent: parent) {
                sink.error(problem, at: valueNode.mark)
                continue
            }
            result.append(FieldMapping(field: field, path: path))
        }
        return result
    }

    enum DecodedSource {
        case found(FieldMapping.Source)
        /// An error was reported.
        case failed
    }

    /// A field source other than a plain JSON path — `{value: …}`, a template with `{{`,
    /// `$response.…` — or nil when the node is a JSON path (or not one at all: the path
    /// reader then reports it, with a hint at the other forms for a bare word).
    func decodeValueSource(_ node: Node, context: String, scope: TemplateScope?) -> DecodedSource? {
        if node.mapping != nil {
            guard let constant = reader.mapping(node, context: context, allowed: ["value"]), let valueNode = reader.required("value", in: constant) else { return .failed }
            guard let value = constantValue(valueNode) else {
                sink.error("'\(context).value' must be a string, number, boolean or null, found \(reader.describe(valueNode))", at: valueNode.mark)
                return .failed
            }
            return .found(.constant(value))
        }
        guard let text = node.scalar?.string else { return nil }
        if text.hasPrefix("$response") {
            guard let path = reader.jsonPath(node, context) else { return .failed }
            guard path.root == .response else { return nil }
            switch ResponseMetadata.canonical(path) {
            case .success(let canonical): return .found(.path(canonical))
            case .failure(let error):
                sink.error(error.message, at: node.mark)
                return .failed
            }
        }
        if text.contains("{{") {
            guard let template = reader.template(text: text, node: node) else { return .failed }
            var allowed = true
            for reference in template.references {
                switch reference.source {
                case .param, .window, .env:
                    continue
                case .secret:
                    reader.error("'{{\(reference)}}' cannot fill a field: a secret is never written into a worksheet (nor shown by 'query'); map what the API answers instead", reference: reference, in: node)
                default:
                    reader.error("'{{\(reference)}}' cannot fill a field: a field's template may use {{param.x}}, {{window.start}}, {{window.end}} and {{env.X}}, values fixed for the whole run; a value of the response is a JSON path ('$.…')", reference: reference, in: node)
                }
                allowed = false
            }
            guard allowed else { return .failed }
            if let scope { checkReferences(template, node: node, scope: scope) }
            return .found(.template(template))
        }
        if !text.hasPrefix("$") {
            sink.error("'\(text)' is not a field source: write a JSON path ('$.\(text)'), a template of run values ('{{param.\(text)}}') or a constant ({value: \(text)})", at: node.mark)
            return .failed
        }
        return nil
    }

    /// A YAML scalar as the JSON value it reads as: plain numbers and booleans keep their
    /// type, `null`/`~` is null, everything else is a string.
    func constantValue(_ node: Node) -> JSONValue? {
        guard let scalar = node.scalar else { return nil }
        if reader.isNull(node) { return .null }
        if scalar.style == .plain {
            if let value = node.bool, ["true", "false"].contains(scalar.string.lowercased()) { return .bool(value) }
            if node.int != nil || node.float != nil, let normalized = DecimalText.normalize(scalar.string) { return .number(normalized) }
        }
        return .string(scalar.string)
    }

    /// Why `$parent…` does not name a field the parent mapping fills (nil: it does).
    func parentFieldProblem(_ path: JSONPath, parent: (worksheet: WorksheetDefinition, fields: [String])) -> String? {
        let rest = String(path.text.dropFirst("$parent".count))
        guard path.components.count == 1, case .member(let name) = path.components[0] else {
            let example = parent.worksheet.key.first ?? parent.fields.first ?? "id"
            return "'\(path.text)' must name one field of '\(parent.worksheet.name)', as in '$parent.\(example)'; for a path inside the parent's JSON write '$parent_json\(rest)'"
        }
        guard parent.fields.contains(name) else {
            return "'\(path.text)' names no field mapped into '\(parent.worksheet.name)' (its fields here: \(parent.fields.joined(separator: ", "))); '$parent.NAME' is the parent row's field value, and the parent's JSON is '$parent_json\(rest)'"
        }
        return nil
    }
}
