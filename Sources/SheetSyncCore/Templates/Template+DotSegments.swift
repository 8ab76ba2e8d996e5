extension Template {
    /// Where a reference's value landed in a rendered URL, in UTF-8 offsets.
    struct PlacedValue {
        var reference: TemplateReference
        /// The value before percent-encoding, for the message.
        var text: String
        var bytes: Range<Int>
    }

    /// Path segments that servers, proxies and the WHATWG URL parser resolve as
    /// "this directory" or "the parent directory". `%2e` is among them: encoding the
    /// dots does not stop `/orders/%2e%2e/notes` from being read as `/notes`.
    static let dotSegments: [String: String] = [
        ".": ".", "%2e": ".",
        "..": "..", ".%2e": "..", "%2e.": "..", "%2e%2e": "..",
    ]

    /// Refuses a rendered URL in which a value made a whole path segment `.` or `..`
    /// (or an encoded form): `/orders/{{record.id}}/notes` with the id `..` would
    /// address `/notes`, another resource than the template names.
    ///
    /// Only the path counts (up to `?` or `#`), and only segments a value contributed
    /// to: dots the template itself spells out are the author's choice, and values
    /// such as `..x` or `a..b` are ordinary names.
    static func refuseDotSegments(in url: String, placed: [PlacedValue]) throws(CoreError) {
        guard !placed.isEmpty else { return }
        let bytes = Array(url.utf8)
        let pathEnd = bytes.firstIndex { $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "#") } ?? bytes.count
        var start = 0
        for index in 0...pathEnd where index == pathEnd || bytes[index] == UInt8(ascii: "/") {
            defer { start = index + 1 }
            // At most 6 bytes (`%2e%2e`): longer segments are never dot segments.
            guard index - start <= 6 else { continue }
            let segment = String(decoding: bytes[start..<index], as: UTF8.self)
            guard let meaning = dotSegments[segment.lowercased()] else { continue }
            // A value touches the segment when its bytes lie inside it; an empty value
            // touches it when it sits inside or at either end (`.{{record.id}}`).
            guard let value = placed.first(where: { $0.bytes.lowerBound <= index && $0.bytes.upperBound >= start }) else { continue }
            let reference = "'{{\(value.reference)}}'"
            let made = segment == meaning ? "a whole path segment '\(segment)'" : "a whole path segment '\(segment)', read as '\(meaning)',"
            // Secrets never appear in messages, not even as the segment they would make.
            let reason = value.reference.source == .secret
                ? "the value of \(reference) would make a whole path segment '.' or '..' (or an encoded form of one)"
                : "the value of \(reference) is '\(value.text)', which would make \(made)"
            throw CoreError(.invalidTemplate, "\(reason) and address another resource; refusing to send it")
        }
    }
}
