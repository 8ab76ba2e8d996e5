/// A JSON value as sheetsync sees it.
///
/// Numbers keep the exact literal they were written with, so a 30-digit decimal or
/// an id larger than `Int64` survives untouched until a field type converts it.
/// Objects keep their member order, so raw JSON written back out reads like the input.
public enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    /// The number literal exactly as written in the source document (`12.50`, `1e3`).
    case number(String)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)

    /// A short, user-facing name of the value's kind, used in error messages.
    public var kindName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .number: "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }

    /// The member named `key` when this is an object.
    public subscript(key: String) -> JSONValue? {
        if case .object(let object) = self { return object[key] }
        return nil
    }
}

/// A JSON object whose members keep their order of appearance.
public struct JSONObject: Sendable, Hashable {
    /// One `"key": value` pair.
    public struct Member: Sendable, Hashable {
        public var key: String
        public var value: JSONValue
        public init(key: String, value: JSONValue) {
            self.key = key
            self.value = value
        }
    }

    public var members: [Member]

    public init(_ members: [Member] = []) {
        self.members = members
    }

    public init(_ pairs: KeyValuePairs<String, JSONValue>) {
        self.members = pairs.map { Member(key: $0.key, value: $0.value) }
    }

    /// The value of the last member named `key` (JSON's usual "last one wins").
    public subscript(key: String) -> JSONValue? {
        var index = members.endIndex
        while index > members.startIndex {
            members.formIndex(before: &index)
            if members[index].key == key { return members[index].value }
        }
        return nil
    }
}

extension JSONValue {
    /// Compact JSON text of this value (no insignificant whitespace).
    public var jsonText: String {
        var out = ""
        write(to: &out)
        return out
    }

    private func write(to out: inout String) {
        switch self {
        case .null: out += "null"
        case .bool(let value): out += value ? "true" : "false"
        case .number(let literal): out += literal
        case .string(let string): JSONValue.writeQuoted(string, to: &out)
        case .array(let elements):
            out += "["
            for (index, element) in elements.enumerated() {
                if index > 0 { out += "," }
                element.write(to: &out)
            }
            out += "]"
        case .object(let object):
            out += "{"
            for (index, member) in object.members.enumerated() {
                if index > 0 { out += "," }
                JSONValue.writeQuoted(member.key, to: &out)
                out += ":"
                member.value.write(to: &out)
            }
            out += "}"
        }
    }

    /// Appends `string` as a JSON string literal, escaping what RFC 8259 requires.
    public static func writeQuoted(_ string: String, to out: inout String) {
        out += "\""
        // Most strings need no escape: append them whole (scalar by scalar showed in profiles).
        var plain = true
        for byte in string.utf8 where byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
            plain = false
            break
        }
        if plain {
            out += string
            out += "\""
            return
        }
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }
}

extension JSONValue {
    /// Indented JSON for people (`sheetsync test`), two spaces per level.
    public func prettyText(indent: String = "") -> String {
        let inner = indent + "  "
        switch self {
        case .array(let elements):
            if elements.isEmpty { return "[]" }
            return "[\n" + elements.map { inner + $0.prettyText(indent: inner) }.joined(separator: ",\n") + "\n\(indent)]"
        case .object(let object):
            if object.members.isEmpty { return "{}" }
            return "{\n" + object.members.map { member in
                var key = ""
                JSONValue.writeQuoted(member.key, to: &key)
                return inner + key + ": " + member.value.prettyText(indent: inner)
            }.joined(separator: ",\n") + "\n\(indent)}"
        default:
            return jsonText
        }
    }
}
