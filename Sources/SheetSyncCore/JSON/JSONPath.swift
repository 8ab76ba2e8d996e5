/// A JSON path selecting values inside a response or a record.
///
/// Supported forms (a deliberate subset of RFC 9535 that covers what API responses need):
///
/// | path            | selects                                         |
/// |-----------------|-------------------------------------------------|
/// | `$`             | the whole document (or record)                  |
/// | `$.a.b`         | member `b` of member `a`                        |
/// | `$['odd key']`  | a member whose name is not a plain identifier    |
/// | `$.a[0]`        | the first element; `[-1]` is the last           |
/// | `$.a[*]`, `$.*` | every element or member value                    |
/// | `$parent.x`     | field `x` of the parent row (in `children`)      |
/// | `$parent_json.x`| member `x` of the parent record's JSON          |
/// | `$response.status`, `$response.headers.x` | the HTTP response's status and headers |
public struct JSONPath: Sendable, Hashable, CustomStringConvertible {
    /// Where evaluation starts.
    public enum Root: Sendable, Hashable {
        /// The document or record being mapped: `$`.
        case current
        /// The parent row of a child row: `$parent.FIELD` names one field the parent
        /// mapping fills, its value after conversion (the field mapper resolves it).
        case parent
        /// The parent record's JSON as the API sent it: `$parent_json`.
        case parentJSON
        /// The HTTP response that carried the record: `$response.status`,
        /// `$response.headers.NAME` (see `ResponseMetadata`).
        case response
    }

    /// One step of the path.
    public enum Component: Sendable, Hashable {
        case member(String)
        case index(Int)
        case wildcard
    }

    public var root: Root
    public var components: [Component]
    /// The path as the user wrote it.
    public let text: String

    public init(root: Root = .current, components: [Component], text: String? = nil) {
        self.root = root
        self.components = components
        self.text = text ?? JSONPath.render(root: root, components: components)
    }

    public var description: String { text }

    /// True when the path selects at most one value (no wildcard).
    public var isSingular: Bool {
        !components.contains(.wildcard)
    }

    /// Every value the path selects in `document`; `parent` is the document `$parent`
    /// and `$parent_json` start from, `response` the one `$response` starts from.
    public func select(in document: JSONValue, parent: JSONValue? = nil, response: JSONValue? = nil) -> [JSONValue] {
        var current: [JSONValue]
        switch root {
        case .current: current = [document]
        case .parent, .parentJSON:
            guard let parent else { return [] }
            current = [parent]
        case .response:
            guard let response else { return [] }
            current = [response]
        }
        for component in components {
            var next: [JSONValue] = []
            for value in current {
                switch (component, value) {
                case (.member(let name), .object(let object)):
                    if let member = object[name] { next.append(member) }
                case (.index(let position), .array(let elements)):
                    let resolved = position < 0 ? elements.count + position : position
                    if elements.indices.contains(resolved) { next.append(elements[resolved]) }
                case (.wildcard, .array(let elements)):
                    next.append(contentsOf: elements)
                case (.wildcard, .object(let object)):
                    next.append(contentsOf: object.members.map(\.value))
                default:
                    break
                }
            }
            current = next
        }
        return current
    }

    /// The single value the path selects, or `nil` when it selects nothing.
    /// A missing key is `nil`, an explicit JSON `null` is `.null`.
    public func value(in document: JSONValue, parent: JSONValue? = nil, response: JSONValue? = nil) -> JSONValue? {
        guard isSingular else { return select(in: document, parent: parent, response: response).first }
        // Singular paths (every field mapping, in practice) walk without building arrays:
        // this runs for every field of every record.
        var current: JSONValue
        switch root {
        case .current: current = document
        case .parent, .parentJSON:
            guard let parent else { return nil }
            current = parent
        case .response:
            guard let response else { return nil }
            current = response
        }
        for component in components {
            switch (component, current) {
            case (.member(let name), .object(let object)):
                guard let member = object[name] else { return nil }
                current = member
            case (.index(let position), .array(let elements)):
                let resolved = position < 0 ? elements.count + position : position
                guard elements.indices.contains(resolved) else { return nil }
                current = elements[resolved]
            default:
                return nil
            }
        }
        return current
    }

    /// Canonical text: identifiers in dot form, everything else bracketed.
    static func render(root: Root, components: [Component]) -> String {
        var text = switch root {
        case .current: "$"
        case .parent: "$parent"
        case .parentJSON: "$parent_json"
        case .response: "$response"
        }
        for component in components {
            switch component {
            case .member(let name):
                if !name.isEmpty, name.unicodeScalars.allSatisfy(JSONPath.isIdentifierScalar) {
                    text += "." + name
                } else {
                    text += "['" + name.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'") + "']"
                }
            case .index(let position): text += "[\(position)]"
            case .wildcard: text += "[*]"
            }
        }
        return text
    }

    static func isIdentifierScalar(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "a"..."z", "A"..."Z", "0"..."9", "_", "-": true
        default: scalar.value >= 0x80 && scalar.properties.isAlphabetic
        }
    }
}

extension String {
    func replacingOccurrences(of target: String, with replacement: String) -> String {
        guard !target.isEmpty, contains(target) else { return self }
        var result = ""
        var rest = self[...]
        while let range = rest.range(of: target) {
            result += rest[..<range.lowerBound]
            result += replacement
            rest = rest[range.upperBound...]
        }
        return result + rest
    }
}

extension Substring {
    func range(of target: String) -> Range<Index>? {
        var start = startIndex
        while start < endIndex {
            if self[start...].hasPrefix(target) {
                return start..<index(start, offsetBy: target.count)
            }
            start = index(after: start)
        }
        return nil
    }
}
