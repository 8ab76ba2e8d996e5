/// Masks secret values in anything sheetsync prints, logs or records.
///
/// A server may echo a secret in any encoding, so a secret is matched in every form it
/// can take in a URL or a body, one character at a time and in any mixture: as written,
/// percent-encoded (`%2F`, either case, byte by byte), form-encoded (`+` for a space),
/// and JSON-escaped (`\/`, `\"`, `\\`, `\n`…, `\u002f` in either case, surrogate pairs).
/// Base64 text that contains a secret (`Authorization: Basic …` echoed back) is masked
/// too: every base64 run whose bytes include the secret's, at the three byte
/// alignments, in the standard and URL alphabets.
///
/// Mask before you cut: `excerpt(_:limit:)` masks a text and then shortens it, so a
/// secret that straddles the cut is never half shown. Values shorter than 4 characters
/// are still masked; an empty value is ignored.
public struct Redactor: Sendable {
    public static let mask = "***"
    /// Each secret as Unicode scalars, longest first, so a secret containing another is masked whole.
    private let secrets: [[Unicode.Scalar]]
    /// Base64 runs that only a secret's bytes produce, longest first.
    private let base64Needles: [[UInt8]]
    /// The longest text a match can span (`\uD83D\uDE00` is 12 bytes for one scalar).
    private let longestMatch: Int

    public init(secrets: some Sequence<String>) {
        let unique = Set(secrets.filter { !$0.isEmpty })
        self.secrets = unique.map { Array($0.unicodeScalars) }.sorted { $0.count > $1.count }
        var needles = Set<[UInt8]>()
        for secret in unique { needles.formUnion(Self.base64Cores(Array(secret.utf8))) }
        base64Needles = needles.sorted { $0.count > $1.count }
        longestMatch = 12 * (self.secrets.first?.count ?? 0)
    }

    /// Whether there is anything to mask.
    public var isEmpty: Bool { secrets.isEmpty }

    public func redact(_ text: String) -> String {
        guard !secrets.isEmpty else { return text }
        let bytes = Array(text.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var index = 0
        var changed = false
        while index < bytes.count {
            if let end = matchEnd(bytes, at: index) {
                out += Array(Self.mask.utf8)
                index = end
                changed = true
            } else {
                out.append(bytes[index])
                index += 1
            }
        }
        return changed ? String(decoding: out, as: UTF8.self) : text
    }

    /// The first `limit` characters of `text` with secrets masked *before* cutting; adds
    /// "…" when something was cut.
    public func excerpt(_ text: String, limit: Int) -> String {
        excerpt(bytes: text.utf8, limit: limit)
    }

    /// The same for bytes (a response body), decoded as UTF-8.
    public func excerpt(bytes: some Collection<UInt8>, limit: Int) -> String {
        // Only the start can show: mask a window long enough that any match reaching into
        // the first `limit` characters lies wholly inside it.
        let window = (limit + 2) * max(longestMatch, 4)
        let head = String(decoding: bytes.prefix(window), as: UTF8.self)
        let masked = redact(head)
        if masked.count <= limit, bytes.count <= window { return masked }
        return String(masked.prefix(limit)) + "…"
    }

    // MARK: - Matching

    /// The end of a secret (in any encoding) starting at `start`, or nil.
    private func matchEnd(_ text: [UInt8], at start: Int) -> Int? {
        let first = text[start]
        for secret in secrets where Self.mayStart(first, secret[0]) {
            if let end = Self.match(secret, in: text, at: start) { return end }
        }
        for needle in base64Needles where first == needle[0] && start + needle.count <= text.count {
            if text[start..<(start + needle.count)].elementsEqual(needle) { return start + needle.count }
        }
        return nil
    }

    private static func mayStart(_ byte: UInt8, _ scalar: Unicode.Scalar) -> Bool {
        byte == UInt8(ascii: "%") || byte == UInt8(ascii: "\\") || byte == UInt8(ascii: "+") || byte == scalar.utf8.first!
    }

    /// Matches `secret` scalar by scalar, keeping every position an encoding could end at
    /// (a few at most), so no backtracking is needed; returns the furthest end.
    private static func match(_ secret: [Unicode.Scalar], in text: [UInt8], at start: Int) -> Int? {
        var positions: [Int] = [start]
        for scalar in secret {
            var next: [Int] = []
            for position in positions {
                for end in ends(of: scalar, in: text, at: position) where !next.contains(end) { next.append(end) }
            }
            if next.isEmpty { return nil }
            positions = next
        }
        return positions.max()
    }

    /// Where one encoding of `scalar` starting at `position` ends.
    private static func ends(of scalar: Unicode.Scalar, in text: [UInt8], at position: Int) -> [Int] {
        var results: [Int] = []
        // As written or percent-encoded, byte by byte.
        var byteEnds = [position]
        for byte in scalar.utf8 {
            var next: [Int] = []
            for at in byteEnds {
                if at < text.count, text[at] == byte { next.append(at + 1) }
                if at + 2 < text.count, text[at] == UInt8(ascii: "%"), let high = hex(text[at + 1]), let low = hex(text[at + 2]),
                   high << 4 | low == byte {
                    next.append(at + 3)
                }
            }
            byteEnds = next
            if byteEnds.isEmpty { break }
        }
        results += byteEnds
        guard position < text.count else { return results }
        if scalar == " ", text[position] == UInt8(ascii: "+") { results.append(position + 1) }
        // JSON escapes.
        if text[position] == UInt8(ascii: "\\"), position + 1 < text.count {
            let escape = text[position + 1]
            if escape == UInt8(ascii: "u") {
                if let (decoded, end) = unicodeEscape(text, at: position), decoded == scalar { results.append(end) }
            } else if let meant = shortEscapes[escape], meant == scalar {
                results.append(position + 2)
            }
        }
        return results
    }

    private static let shortEscapes: [UInt8: Unicode.Scalar] = [
        UInt8(ascii: "\""): "\"", UInt8(ascii: "\\"): "\\", UInt8(ascii: "/"): "/", UInt8(ascii: "b"): "\u{08}",
        UInt8(ascii: "f"): "\u{0C}", UInt8(ascii: "n"): "\n", UInt8(ascii: "r"): "\r", UInt8(ascii: "t"): "\t",
    ]

    /// `\uXXXX`, or a surrogate pair `\uD83D\uDE00`, at `position`.
    private static func unicodeEscape(_ text: [UInt8], at position: Int) -> (Unicode.Scalar, Int)? {
        func unit(at index: Int) -> UInt32? {
            guard index + 6 <= text.count, text[index] == UInt8(ascii: "\\"), text[index + 1] == UInt8(ascii: "u") else { return nil }
            var value: UInt32 = 0
            for offset in 2..<6 {
                guard let digit = hex(text[index + offset]) else { return nil }
                value = value << 4 | UInt32(digit)
            }
            return value
        }
        guard let high = unit(at: position) else { return nil }
        if (0xD800...0xDBFF).contains(high) {
            guard let low = unit(at: position + 6), (0xDC00...0xDFFF).contains(low),
                  let scalar = Unicode.Scalar(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)) else { return nil }
            return (scalar, position + 12)
        }
        return Unicode.Scalar(high).map { ($0, position + 6) }
    }

    private static func hex(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    // MARK: - Base64

    static let standardAlphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    static let urlAlphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    /// The base64 characters that depend only on `secret`'s bytes, wherever those bytes
    /// sit in the encoded data: for each of the 3 alignments, the encoding without the
    /// characters that mix in neighbouring bytes. Secrets under 3 bytes give none.
    static func base64Cores(_ secret: [UInt8]) -> [[UInt8]] {
        guard secret.count >= 3 else { return [] }
        var cores: [[UInt8]] = []
        for alignment in 0..<3 {
            let data = [UInt8](repeating: 0, count: alignment) + secret
            for alphabet in [standardAlphabet, urlAlphabet] {
                var encoded = encode(data, alphabet: alphabet)
                // Leading characters that hold bits of the bytes before the secret.
                encoded.removeFirst([0, 2, 3][alignment])
                // A trailing character that holds bits of the byte after it.
                if data.count % 3 != 0 { encoded.removeLast() }
                if encoded.count >= 4 { cores.append(encoded) }
            }
        }
        return cores
    }

    /// Base64 without padding.
    static func encode(_ data: [UInt8], alphabet: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        var index = 0
        while index < data.count {
            let chunk = data[index..<min(index + 3, data.count)]
            let b0 = chunk[chunk.startIndex], b1 = chunk.count > 1 ? chunk[chunk.startIndex + 1] : 0, b2 = chunk.count > 2 ? chunk[chunk.startIndex + 2] : 0
            out.append(alphabet[Int(b0 >> 2)])
            out.append(alphabet[Int((b0 & 0x03) << 4 | b1 >> 4)])
            if chunk.count > 1 { out.append(alphabet[Int((b1 & 0x0F) << 2 | b2 >> 6)]) }
            if chunk.count > 2 { out.append(alphabet[Int(b2 & 0x3F)]) }
            index += 3
        }
        return out
    }
}
