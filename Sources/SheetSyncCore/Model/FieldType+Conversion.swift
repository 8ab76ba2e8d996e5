extension FieldType {
    /// Converts a value read from a source document into this field's stored form.
    ///
    /// Lenient where sources commonly are (numbers sent as strings, ids sent as
    /// numbers, booleans as `"true"`/`1`, epoch datetimes, `""` for "no value" in
    /// non-text fields) and strict where guessing would lose data (a fraction in an
    /// integer field, an object in a text field, an unparseable date).
    ///
    /// - Throws: `CoreError` with code `.conversionFailed` and a message naming what
    ///   was expected and what was found.
    ///
    /// One `switch` over the field types, each case a few lines: the one place to read
    /// (and to extend, for a new field type) what every type accepts.
    public func convert(_ value: JSONValue) throws(CoreError) -> SQLValue {
        if case .null = value { return .null }
        if self != .text, self != .json, case .string(let s) = value, s.trimmingSpaces.isEmpty { return .null }
        switch self {
        case .text:
            switch value {
            case .string(let s): return .text(s)
            case .number(let literal): return .text(literal)
            case .bool(let b): return .text(b ? "true" : "false")
            default: throw mismatch(value, hint: "map it to a 'json' field to keep it as JSON text")
            }
        case .integer:
            switch value {
            case .number(let literal), .string(let literal):
                if let int = Int64(literal.trimmingSpaces) { return .integer(int) }
                if let normalized = DecimalText.normalize(literal) {
                    let parts = normalized.split(separator: ".", maxSplits: 1)
                    if parts.count == 1 || parts[1].allSatisfy({ $0 == "0" }), let int = Int64(parts[0]) {
                        return .integer(int)
                    }
                    if parts.count == 1 || parts[1].allSatisfy({ $0 == "0" }) {
                        throw CoreError(.conversionFailed, "expected an integer, found '\(literal)', which does not fit in 64 bits; use a 'decimal' or 'text' field")
                    }
                }
                throw mismatch(value)
            default: throw mismatch(value)
            }
        case .number:
            switch value {
            case .number(let literal), .string(let literal):
                if let double = Double(literal.trimmingSpaces), double.isFinite { return .real(double) }
                throw mismatch(value)
            default: throw mismatch(value)
            }
        case .decimal:
            switch value {
            case .number(let literal), .string(let literal):
                if let normalized = DecimalText.normalize(literal) { return .text(normalized) }
                throw mismatch(value)
            default: throw mismatch(value)
            }
        case .boolean:
            switch value {
            case .bool(let b): return .integer(b ? 1 : 0)
            case .number(let literal):
                if let double = Double(literal), double == 0 || double == 1 { return .integer(double == 1 ? 1 : 0) }
                throw mismatch(value, hint: "only 0 and 1 are booleans")
            case .string(let s):
                switch s.trimmingSpaces.lowercased() {
                case "true", "t", "yes", "y", "1", "on": return .integer(1)
                case "false", "f", "no", "n", "0", "off": return .integer(0)
                default: throw mismatch(value, hint: "accepted: true/false, yes/no, 1/0, on/off")
                }
            default: throw mismatch(value)
            }
        case .date:
            switch value {
            case .string(let s):
                let trimmed = s.trimmingSpaces
                // A date-time keeps the calendar date it was written with.
                let datePart = trimmed.count > 10 && (trimmed.dropFirst(10).first == "T" || trimmed.dropFirst(10).first == " ")
                    ? trimmed.prefix(10) : trimmed[...]
                if trimmed.count > 10, UTCDateTime(iso: trimmed) == nil { throw mismatch(value, hint: "expected YYYY-MM-DD") }
                if let (y, m, d) = CivilDate.parse(datePart) { return .text(CivilDate.format(year: y, month: m, day: d)) }
                throw mismatch(value, hint: "expected YYYY-MM-DD")
            default: throw mismatch(value, hint: "expected a YYYY-MM-DD string")
            }
        case .datetime:
            switch value {
            case .string(let s):
                if UTCDateTime.isCanonical(s) { return .text(s) }
                if let dateTime = UTCDateTime(iso: s) { return .text(dateTime.description) }
                if let dateTime = UTCDateTime(epoch: String(s.trimmingSpaces)) { return .text(dateTime.description) }
                throw mismatch(value, hint: "expected ISO-8601 such as 2024-03-10T12:00:00Z, or Unix epoch seconds")
            case .number(let literal):
                if let dateTime = UTCDateTime(epoch: literal) { return .text(dateTime.description) }
                throw mismatch(value, hint: "epoch out of range")
            default: throw mismatch(value)
            }
        case .json:
            return .text(value.jsonText)
        }
    }

    /// Converts a value already stored in SQLite (for example by a user's own SQL,
    /// or a column being retyped) into this field's stored form.
    public func convert(stored value: SQLValue) throws(CoreError) -> SQLValue {
        if self == .json, case .text(let text) = value {
            // Stored JSON text stays JSON text; a plain string becomes a JSON string.
            if let parsed = try? JSONReader.parse(Array(text.utf8)) { return .text(parsed.jsonText) }
            return .text(JSONValue.string(text).jsonText)
        }
        return try convert(value.jsonValue)
    }

    private func mismatch(_ value: JSONValue, hint: String? = nil) -> CoreError {
        let found: String
        switch value {
        case .string(let s): found = "the string '\(s.count > 60 ? s.prefix(57) + "..." : s)'"
        case .number(let n): found = "the number \(n)"
        case .bool(let b): found = "the boolean \(b)"
        default: found = "a JSON \(value.kindName)"
        }
        let article = self == .integer ? "an" : "a"
        var message = "expected \(article) \(rawValue), found \(found)"
        if let hint { message += " (\(hint))" }
        return CoreError(.conversionFailed, message)
    }
}
