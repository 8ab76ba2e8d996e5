/// A text that sheetsync stores with its secrets sealed: the text with each secret value
/// replaced by a readable placeholder (`{{secret.API_KEY|json}}`), and the list of the
/// places where sheetsync itself put one.
///
/// Only those places are ever unsealed. Any other text in the payload — a record value
/// that happens to read `{{secret.API_KEY}}`, written by an upstream API or by anyone
/// with `sqlite3` — is data and is sent byte for byte as written.
public struct SealedText: Sendable, Hashable {
    /// One placeholder sheetsync wrote: where (UTF-8 offset in `text`), which secret, which form.
    public struct Seal: Sendable, Hashable {
        public var offset: Int
        public var name: String
        public var form: SecretSeal.Form

        public init(offset: Int, name: String, form: SecretSeal.Form) {
            self.offset = offset
            self.name = name
            self.form = form
        }

        /// The placeholder text at `offset`.
        public var placeholder: String { "{{secret.\(name)\(form.rawValue)}}" }
    }

    /// The text with placeholders, readable in the ledger.
    public var text: String
    /// In order of `offset`.
    public var seals: [Seal]

    public init(text: String, seals: [Seal] = []) {
        self.text = text
        self.seals = seals
    }

    /// The seals as stored beside the text: `[[12,"API_KEY","json"],…]`; nil when there are none.
    public var sealsJSON: String? {
        guard !seals.isEmpty else { return nil }
        let items = seals.map { seal in
            JSONValue.array([.number(String(seal.offset)), .string(seal.name), .string(seal.form.name)])
        }
        return JSONValue.array(items).jsonText
    }

    /// Reads stored seals; throws when they are not what `sealsJSON` writes.
    public init(text: String, sealsJSON: String?) throws(CoreError) {
        self.text = text
        self.seals = []
        guard let sealsJSON else { return }
        let invalid = CoreError(.invalidJSON, "the stored list of sealed secrets is damaged; replay the change from its record (it was probably edited by hand)")
        guard case .array(let items)? = try? JSONReader.parse(sealsJSON) else { throw invalid }
        for item in items {
            guard case .array(let parts) = item, parts.count == 3, case .number(let offsetText) = parts[0], let offset = Int(offsetText),
                  case .string(let name) = parts[1], case .string(let formName) = parts[2],
                  let form = SecretSeal.Form.allCases.first(where: { $0.name == formName }) else { throw invalid }
            seals.append(Seal(offset: offset, name: name, form: form))
        }
    }
}

/// Keeps secrets out of what sheetsync stores while keeping stored payloads sendable.
///
/// A push delivery freezes its body before the first attempt so that retries send the
/// same bytes; a body template may hold a secret (`"key": "{{secret.API_KEY}}"`). The
/// ledger stores the body *sealed* (`SealedText`): each secret's value, as written or in
/// the encoded form a body gives it (JSON-escaped, percent-encoded, form-encoded),
/// replaced by a placeholder naming the secret, and the placeholder's position recorded.
/// Unsealing at send time puts the secret's current value back at those positions only,
/// so a retry sends the same bytes unless the secret was rotated meanwhile (then it
/// sends the new one).
public enum SecretSeal {
    public enum Form: String, Sendable, Hashable, CaseIterable {
        case raw = "", json = "|json", url = "|url", form = "|form"

        /// The name stored in a seal list.
        public var name: String { self == .raw ? "raw" : String(rawValue.dropFirst()) }

        func apply(_ value: String) -> String {
            switch self {
            case .raw: return value
            case .json:
                var quoted = ""
                JSONValue.writeQuoted(value, to: &quoted)
                // By scalars: a value starting with a combining mark forms one Character
                // with the opening quote (found by the redact fuzzer).
                return String(String.UnicodeScalarView(quoted.unicodeScalars.dropFirst().dropLast()))
            case .url: return PercentEncoding.encode(value)
            case .form: return PercentEncoding.formEncode(value)
            }
        }
    }

    /// `text` with every secret value replaced by its placeholder (longest values first,
    /// so a secret containing another is sealed whole), and where each placeholder is.
    public static func seal(_ text: String, secrets: [String: String]) -> SealedText {
        var replacements: [(value: [UInt8], name: String, form: Form)] = []
        for (name, value) in secrets.sorted(by: { $0.key < $1.key }) where !value.isEmpty {
            var seen = Set<String>()
            for form in Form.allCases {
                let encoded = form.apply(value)
                if !encoded.isEmpty, seen.insert(encoded).inserted { replacements.append((Array(encoded.utf8), name, form)) }
            }
        }
        replacements.sort { $0.value.count > $1.value.count }
        let bytes = Array(text.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var seals: [SealedText.Seal] = []
        var index = 0
        scan: while index < bytes.count {
            for replacement in replacements where replacement.value[0] == bytes[index] && index + replacement.value.count <= bytes.count {
                if bytes[index..<(index + replacement.value.count)].elementsEqual(replacement.value) {
                    let seal = SealedText.Seal(offset: out.count, name: replacement.name, form: replacement.form)
                    out += Array(seal.placeholder.utf8)
                    seals.append(seal)
                    index += replacement.value.count
                    continue scan
                }
            }
            out.append(bytes[index])
            index += 1
        }
        return seals.isEmpty ? SealedText(text: text) : SealedText(text: String(decoding: out, as: UTF8.self), seals: seals)
    }

    /// The text with each recorded placeholder replaced by its secret's current value;
    /// every other byte is kept as it is. Throws when a sealed secret has no value any
    /// more, or when the seals do not match the text.
    public static func unseal(_ sealed: SealedText, secrets: [String: String]) throws(CoreError) -> String {
        guard !sealed.seals.isEmpty else { return sealed.text }
        let bytes = Array(sealed.text.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var index = 0
        for seal in sealed.seals {
            let placeholder = Array(seal.placeholder.utf8)
            guard seal.offset >= index, seal.offset + placeholder.count <= bytes.count,
                  bytes[seal.offset..<(seal.offset + placeholder.count)].elementsEqual(placeholder) else {
                throw CoreError(.invalidTemplate, "the stored payload does not match its list of sealed secrets (it was probably edited by hand); replay the change from its record")
            }
            guard let value = secrets[seal.name] else {
                throw CoreError(.invalidTemplate, "the stored payload needs '{{secret.\(seal.name)}}', which has no value now; export it and retry")
            }
            out += bytes[index..<seal.offset]
            out += Array(seal.form.apply(value).utf8)
            index = seal.offset + placeholder.count
        }
        out += bytes[index...]
        return String(decoding: out, as: UTF8.self)
    }
}
