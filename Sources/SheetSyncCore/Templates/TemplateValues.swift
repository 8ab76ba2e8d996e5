/// The values templates are rendered with, one dictionary per source.
///
/// Secrets are looked up through `secret` and never stored in rendered output
/// anywhere but the request itself; `Redactor` masks them everywhere else.
public struct TemplateValues: Sendable {
    public var env: [String: String]
    public var secrets: [String: String]
    public var params: [String: String]
    public var state: [String: String]
    public var window: [String: String]
    public var page: [String: String]
    /// The record being pushed (or, in a per-record step, the source record), typed.
    public var record: [String: JSONValue]
    /// Values extracted by earlier steps, by `"<step>.<value>"`.
    public var steps: [String: JSONValue] = [:]

    public init(env: [String: String] = [:], secrets: [String: String] = [:], params: [String: String] = [:],
                state: [String: String] = [:], window: [String: String] = [:], page: [String: String] = [:],
                record: [String: JSONValue] = [:]) {
        self.env = env
        self.secrets = secrets
        self.params = params
        self.state = state
        self.window = window
        self.page = page
        self.record = record
    }

    /// The value of one reference, typed where the source has types (records).
    ///
    /// - Throws: `CoreError` `.invalidTemplate` naming the reference and where its
    ///   value should come from.
    public func value(of reference: TemplateReference) throws(CoreError) -> JSONValue {
        let name = reference.name
        func missing(_ hint: String) -> CoreError {
            CoreError(.invalidTemplate, "'{{\(reference)}}' has no value; \(hint)")
        }
        switch reference.source {
        case .env:
            guard let value = env[name] else { throw missing("export \(name)=… or set it under 'env:' in sheetsync.yml") }
            return .string(value)
        case .secret:
            guard let value = secrets[name] else { throw missing("export \(name)=… or add it to the secrets file") }
            return .string(value)
        case .param:
            guard let value = params[name] else { throw missing("pass --param \(name)=… or set a default under 'params:' in the job") }
            return .string(value)
        case .state:
            guard let value = state[name] else { throw missing("the job has no saved '\(name)' yet; set 'incremental.start' or use 'sheetsync state JOB --set \(name)=…'") }
            return .string(value)
        case .window:
            guard let value = window[name] else { throw missing("window values exist only in backfills (sheetsync backfill JOB --from … --to …)") }
            return .string(value)
        case .page:
            guard let value = page[name] else { throw missing("page values exist only in jobs with 'paginate'") }
            return .string(value)
        case .record:
            var current: JSONValue? = .object(JSONObject(record.sorted { $0.key < $1.key }.map { JSONObject.Member(key: $0.key, value: $0.value) }))
            for component in reference.path { current = current?[component] }
            guard let current else { throw missing("the record has no field '\(name)'") }
            return current
        case .steps:
            guard let value = steps[name] else { throw missing("step '\(reference.path[0])' has not run or did not extract '\(reference.path.dropFirst().joined(separator: "."))'") }
            return value
        }
    }

    /// The value as text: strings as they are, other JSON as JSON text, null as "".
    public func text(of reference: TemplateReference) throws(CoreError) -> String {
        switch try value(of: reference) {
        case .string(let string): string
        case .null: ""
        case .number(let literal): literal
        case .bool(let flag): flag ? "true" : "false"
        case let other: other.jsonText
        }
    }
}

extension Template {
    /// Renders as plain text (query values, form fields, raw bodies).
    public func renderText(_ values: TemplateValues) throws(CoreError) -> String {
        try render { (reference: TemplateReference) throws(CoreError) -> String in try values.text(of: reference) }
    }

    /// Renders a URL. A reference at the very start is the base URL and goes in as
    /// it is (`{{env.SHOP_URL}}/v1/orders`); every other value is percent-encoded,
    /// so `/orders/{{record.id}}` cannot be bent by an id holding `/`, `?` or `#`.
    ///
    /// - Throws: `CoreError` `.invalidTemplate` when a value would make a whole path
    ///   segment `.` or `..` (or a percent-encoded form of them), which servers and
    ///   proxies resolve to another resource (see `refuseDotSegments`).
    public func renderURL(_ values: TemplateValues) throws(CoreError) -> String {
        var out = ""
        var placed: [PlacedValue] = []
        for (index, part) in parts.enumerated() {
            switch part {
            case .literal(let text): out += text
            case .reference(let reference):
                let text = try values.text(of: reference)
                if index == 0 {
                    out += text
                    continue
                }
                let start = out.utf8.count
                out += PercentEncoding.encode(text, allowing: PercentEncoding.unreserved)
                placed.append(PlacedValue(reference: reference, text: text, bytes: start..<out.utf8.count))
            }
        }
        try Self.refuseDotSegments(in: out, placed: placed)
        return out
    }

    /// Renders a header value; a line break in the result is refused, since it
    /// would let a value inject headers.
    public func renderHeader(_ values: TemplateValues, name: String) throws(CoreError) -> String {
        let text = try renderText(values)
        // Bytes, not Characters: "\r\n" is a single Character in Swift.
        if text.utf8.contains(13) || text.utf8.contains(10) {
            throw CoreError(.invalidTemplate, "header '\(name)' would contain a line break after filling in its template; refusing to send it")
        }
        return text
    }
}

extension JSONTemplate {
    /// Renders a JSON body: a string that is exactly one reference becomes that
    /// value with its JSON type; other strings are rendered as text.
    public func render(_ values: TemplateValues) throws(CoreError) -> JSONValue {
        switch self {
        case .null: return .null
        case .bool(let flag): return .bool(flag)
        case .number(let literal): return .number(literal)
        case .string(let template):
            if template.parts.count == 1, case .reference(let reference) = template.parts[0] {
                return try values.value(of: reference)
            }
            return .string(try template.renderText(values))
        case .array(let elements):
            var rendered: [JSONValue] = []
            for element in elements { rendered.append(try element.render(values)) }
            return .array(rendered)
        case .object(let members):
            var rendered: [JSONObject.Member] = []
            for member in members { rendered.append(JSONObject.Member(key: member.key, value: try member.value.render(values))) }
            return .object(JSONObject(rendered))
        }
    }
}

/// RFC 3986 percent-encoding.
public enum PercentEncoding {
    /// Letters, digits and `-._~`: never encoded.
    public static let unreserved: Set<UInt8> = Set(Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~".utf8))

    public static func encode(_ text: String, allowing allowed: Set<UInt8> = unreserved) -> String {
        var out = ""
        for byte in text.utf8 {
            if allowed.contains(byte) {
                out.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                out += "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
            }
        }
        return out
    }

    /// `application/x-www-form-urlencoded`: like `encode`, with spaces as `+`.
    public static func formEncode(_ text: String) -> String {
        encode(text).replacingOccurrences(of: "%20", with: "+")
    }
}

extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
