/// A text with `{{ source.name }}` references, such as a URL, header or body value.
///
/// Sources:
///
/// | source           | value                                              |
/// |------------------|----------------------------------------------------|
/// | `env.X`          | environment variable X (or `env:` in sheetsync.yml) |
/// | `secret.X`       | a secret, from the environment or the secrets file; never logged |
/// | `param.x`        | `--param x=…` on the command line, or `params:` defaults |
/// | `state.x`        | the job's saved state (`state.cursor`)              |
/// | `window.start`/`window.end` | the slice of a backfill                  |
/// | `page.x`         | pagination values (`page.number`, `page.offset`, …)  |
/// | `record.x`       | a field of the record being pushed                 |
/// | `steps.name.x`   | a value from an earlier step of the same job       |
///
/// There is no escape for a literal `{{`: it always starts a reference.
public struct Template: Sendable, Hashable, CustomStringConvertible {
    /// A piece of the template: fixed text or a reference.
    public enum Part: Sendable, Hashable {
        case literal(String)
        case reference(TemplateReference)
    }

    public let parts: [Part]
    /// The template as written.
    public let text: String

    public var description: String { text }

    /// Every reference, in order of appearance.
    public var references: [TemplateReference] {
        parts.compactMap { part in
            if case .reference(let reference) = part { return reference }
            return nil
        }
    }

    /// True when the template contains no reference.
    public var isLiteral: Bool { references.isEmpty }

    /// A template that is just fixed text.
    public init(literal text: String) {
        self.text = text
        self.parts = text.isEmpty ? [] : [.literal(text)]
    }

    init(parts: [Part], text: String) {
        self.parts = parts
        self.text = text
    }

    /// Renders the template; `resolve` supplies each reference's text, already encoded
    /// for where it goes (percent-encoded in a URL, and so on).
    public func render<E: Error>(_ resolve: (TemplateReference) throws(E) -> String) throws(E) -> String {
        var out = ""
        for part in parts {
            switch part {
            case .literal(let text): out += text
            case .reference(let reference): out += try resolve(reference)
            }
        }
        return out
    }
}

/// Where a template reference takes its value from.
public enum TemplateSource: String, Sendable, Hashable, CaseIterable {
    case env, secret, param, state, window, page, record, steps
}

/// One `{{ source.path }}` inside a template.
public struct TemplateReference: Sendable, Hashable, CustomStringConvertible {
    public var source: TemplateSource
    /// The dotted name after the source: `["SHOP_URL"]`, `["fetch", "id"]`.
    public var path: [String]
    /// Character offset of the reference's `{{` inside the template text.
    public var offset: Int

    public init(source: TemplateSource, path: [String], offset: Int = 0) {
        self.source = source
        self.path = path
        self.offset = offset
    }

    /// The name without the source: `SHOP_URL`, `fetch.id`.
    public var name: String { path.joined(separator: ".") }

    public var description: String { source.rawValue + "." + name }
}
