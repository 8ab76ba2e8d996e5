/// Keeps secrets out of what sheetsync stores while keeping stored payloads sendable.
///
/// A push delivery freezes its body before the first attempt so that retries send the
/// same bytes; a body template may hold a secret (`"key": "{{secret.API_KEY}}"`). The
/// ledger stores the body *sealed*: each secret's value, as written or in the encoded
/// form a body gives it (JSON-escaped, percent-encoded, form-encoded), replaced by a
/// placeholder naming the secret (`{{secret.API_KEY}}`, `{{secret.API_KEY|json}}`, …).
/// Unsealing at send time puts the secret's current value back, so a retry sends the
/// same bytes unless the secret was rotated meanwhile (then it sends the new one).
public enum SecretSeal {
    enum Form: String, CaseIterable {
        case raw = "", json = "|json", url = "|url", form = "|form"

        func apply(_ value: String) -> String {
            switch self {
            case .raw: return value
            case .json:
                var quoted = ""
                JSONValue.writeQuoted(value, to: &quoted)
                return String(quoted.dropFirst().dropLast())
            case .url: return PercentEncoding.encode(value)
            case .form: return PercentEncoding.formEncode(value)
            }
        }
    }

    /// `text` with every secret value replaced by its placeholder (longest values first,
    /// so a secret containing another is sealed whole).
    public static func seal(_ text: String, secrets: [String: String]) -> String {
        var replacements: [(value: String, placeholder: String)] = []
        for (name, value) in secrets where !value.isEmpty {
            var seen = Set<String>()
            for form in Form.allCases {
                let encoded = form.apply(value)
                if seen.insert(encoded).inserted { replacements.append((encoded, "{{secret.\(name)\(form.rawValue)}}")) }
            }
        }
        var result = text
        for (value, placeholder) in replacements.sorted(by: { $0.value.count > $1.value.count }) where result.contains(value) {
            result = result.replacingOccurrences(of: value, with: placeholder)
        }
        return result
    }

    /// `text` with the placeholders replaced by the secrets' current values; throws when
    /// a sealed secret has no value any more.
    public static func unseal(_ text: String, secrets: [String: String]) throws(CoreError) -> String {
        guard text.contains("{{secret.") else { return text }
        var result = ""
        var rest = text[...]
        while let open = rest.range(of: "{{secret.") {
            result += rest[..<open.lowerBound]
            guard let close = rest[open.upperBound...].range(of: "}}") else { break }
            let token = String(rest[open.upperBound..<close.lowerBound])
            let parts = token.split(separator: "|", maxSplits: 1).map(String.init)
            let form = Form(rawValue: parts.count == 2 ? "|" + parts[1] : "")
            guard let form, let value = secrets[parts[0]] else {
                throw CoreError(.invalidTemplate, "the stored payload needs '{{secret.\(parts.first ?? token)}}', which has no value now; export it and retry")
            }
            result += form.apply(value)
            rest = rest[close.upperBound...]
        }
        return result + rest
    }
}
