import SheetSyncCore

extension WorksheetInference {
    /// The records `path` selects in `document`, read as Get Multiple Data reads them (an
    /// array is one record per element, an object is one record); each must be an object.
    /// Errors say what the path found and which paths hold arrays of objects instead.
    public static func records(at path: JSONPath, in document: JSONValue) throws(PageReadError) -> [JSONObject] {
        let selected = path.select(in: document)
        var values: [JSONValue] = []
        for value in selected {
            switch value {
            case .array(let elements): values += elements
            case .null: break
            default: values.append(value)
            }
        }
        let hint = recordPathHint(in: document, excluding: path)
        guard !selected.isEmpty else {
            var found = "nothing"
            if case .object(let object) = document {
                let keys = object.members.prefix(8).map { "'\($0.key)'" }.joined(separator: ", ")
                found = "nothing (the response is an object with members \(keys.isEmpty ? "none" : keys))"
            }
            throw PageReadError(.unexpectedResponse, "records path '\(path.text)' found \(found); \(hint ?? "pass the path of the array whose elements become rows")")
        }
        guard !values.isEmpty else {
            throw PageReadError(.unexpectedResponse, "records path '\(path.text)' selects no records (an empty array or null); save or request a response that has some records, or \(hint ?? "check the path")")
        }
        let objects = values.compactMap { value -> JSONObject? in
            if case .object(let object) = value { return object }
            return nil
        }
        guard !objects.isEmpty else {
            let kinds = Set(values.map(\.kindName)).sorted().joined(separator: ", ")
            throw PageReadError(.unexpectedResponse, "records path '\(path.text)' selects \(kinds) values, not objects; a record must be an object whose members become fields: \(hint ?? "point the path at an array of objects")")
        }
        return objects
    }

    /// Paths near the top of `document` that hold arrays of objects, as advice:
    /// `"pass '$.data' (an array of 3 objects)"`; nil when there is none.
    public static func recordPathHint(in document: JSONValue, excluding path: JSONPath? = nil) -> String? {
        var found: [(String, Int)] = []
        func visit(_ value: JSONValue, _ components: [JSONPath.Component]) {
            guard components.count <= 2 else { return }
            switch value {
            case .array(let elements):
                let objects = elements.filter { if case .object = $0 { true } else { false } }.count
                let candidate = JSONPath(components: components)
                if objects > 0, candidate.text != path?.text { found.append((candidate.text, objects)) }
            case .object(let object):
                for member in object.members { visit(member.value, components + [.member(member.key)]) }
            default: break
            }
        }
        visit(document, [])
        guard !found.isEmpty else { return nil }
        let list = found.prefix(4).map { "'\($0.0)' (an array of \($0.1) object\($0.1 == 1 ? "" : "s"))" }.joined(separator: " or ")
        return "the response has \(list): pass that path as the records path"
    }
}
