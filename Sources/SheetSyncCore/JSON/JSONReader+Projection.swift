/// Reading a document under a `JSONProjection`: what the projection does not keep is
/// skipped without building values, but checked by the same rules, in the same order, as
/// the plain reader: both accept the same documents and refuse the others with the same
/// error at the same byte.
extension JSONReader {
    /// Parses one complete JSON document, keeping what `projection` reads.
    public static func parse(_ buffer: UnsafeBufferPointer<UInt8>, projection: JSONProjection) throws(CoreError) -> JSONValue {
        var reader = JSONReader(buffer)
        reader.skipWhitespace()
        let value = try reader.readValue(projection)
        reader.skipWhitespace()
        if reader.index != buffer.count { throw reader.error("unexpected \(reader.describeCurrent()) after the end of the document") }
        return value
    }

    /// Parses one complete JSON document, keeping what `projection` reads.
    public static func parse(_ bytes: [UInt8], projection: JSONProjection) throws(CoreError) -> JSONValue {
        let result: Result<JSONValue, CoreError> = bytes.withUnsafeBufferPointer { buffer in
            Result { () throws(CoreError) in try parse(buffer, projection: projection) }
        }
        return try result.get()
    }

    mutating func readValue(_ projection: JSONProjection) throws(CoreError) -> JSONValue {
        guard !projection.keepsWhole, index < bytes.count else { return try readValue() }
        switch bytes[index] {
        case UInt8(ascii: "{"):
            return try readObject(projection)
        case UInt8(ascii: "["):
            guard let elements = projection.elements else { return try readArray() }
            return try readArray(elements)
        default:
            return try readValue()
        }
    }

    private mutating func readObject(_ projection: JSONProjection) throws(CoreError) -> JSONValue {
        try enter()
        index += 1
        var members: [JSONObject.Member] = []
        skipWhitespace()
        if peek(UInt8(ascii: "}")) { index += 1; depth -= 1; return .object(JSONObject(members)) }
        // At most the projection's members are kept (fewer when some are missing or a name
        // comes twice… then the array grows as usual): one allocation instead of several.
        members.reserveCapacity(projection.members.count)
        while true {
            skipWhitespace()
            guard peek(UInt8(ascii: "\"")) else { throw error("unexpected \(describeCurrent()), expected a member name in double quotes") }
            let kept = try readKey(projection)
            skipWhitespace()
            guard peek(UInt8(ascii: ":")) else { throw error("unexpected \(describeCurrent()), expected ':' after member name") }
            index += 1
            skipWhitespace()
            if let kept {
                members.append(JSONObject.Member(key: kept.key, value: try readValue(projection.members[kept.member].projection)))
            } else {
                try skipValue()
            }
            skipWhitespace()
            if peek(UInt8(ascii: ",")) { index += 1; continue }
            if peek(UInt8(ascii: "}")) { index += 1; break }
            throw error("unexpected \(describeCurrent()), expected ',' or '}' in object")
        }
        depth -= 1
        return .object(JSONObject(members))
    }

    private mutating func readArray(_ projection: JSONProjection) throws(CoreError) -> JSONValue {
        try enter()
        index += 1
        var elements: [JSONValue] = []
        skipWhitespace()
        if peek(UInt8(ascii: "]")) { index += 1; depth -= 1; return .array(elements) }
        while true {
            skipWhitespace()
            elements.append(try readValue(projection))
            skipWhitespace()
            if peek(UInt8(ascii: ",")) { index += 1; continue }
            if peek(UInt8(ascii: "]")) { index += 1; break }
            throw error("unexpected \(describeCurrent()), expected ',' or ']' in array")
        }
        depth -= 1
        return .array(elements)
    }

    /// Reads a member name; returns it with its position in the projection's members
    /// when the projection keeps it. A plain ASCII name is compared as bytes and never
    /// becomes a string unless kept; any other goes through `readString`.
    private mutating func readKey(_ projection: JSONProjection) throws(CoreError) -> (key: String, member: Int)? {
        if let end = plainASCIIStringEnd() {
            let name = UnsafeBufferPointer(rebasing: bytes[(index + 1)..<end])
            index = end + 1
            guard let position = projection.member(matching: name) else { return nil }
            return (projection.members[position].name, position)
        }
        let key = try readString()
        guard let position = projection.member(named: key) else { return nil }
        return (key, position)
    }

    /// The position of the closing quote of the string starting at `index` when it holds
    /// only printable ASCII without escapes; nil otherwise (also when it does not end).
    private func plainASCIIStringEnd() -> Int? {
        var end = index + 1
        while end < bytes.count {
            let byte = bytes[end]
            if byte == UInt8(ascii: "\"") { return end }
            if byte == UInt8(ascii: "\\") || byte < 0x20 || byte >= 0x80 { return nil }
            end += 1
        }
        return nil
    }

    // MARK: - Skipping

    /// Moves past one value, checking it as `readValue` would.
    private mutating func skipValue() throws(CoreError) {
        guard index < bytes.count else { throw error("unexpected end of input, expected a value") }
        switch bytes[index] {
        case UInt8(ascii: "{"): try skipObject()
        case UInt8(ascii: "["): try skipArray()
        case UInt8(ascii: "\""): try skipString()
        case UInt8(ascii: "t"): try expectLiteral("true")
        case UInt8(ascii: "f"): try expectLiteral("false")
        case UInt8(ascii: "n"): try expectLiteral("null")
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): try scanNumber()
        default: throw error("unexpected \(describeCurrent()), expected a value")
        }
    }

    private mutating func skipObject() throws(CoreError) {
        try enter()
        index += 1
        skipWhitespace()
        if peek(UInt8(ascii: "}")) { index += 1; depth -= 1; return }
        while true {
            skipWhitespace()
            guard peek(UInt8(ascii: "\"")) else { throw error("unexpected \(describeCurrent()), expected a member name in double quotes") }
            try skipString()
            skipWhitespace()
            guard peek(UInt8(ascii: ":")) else { throw error("unexpected \(describeCurrent()), expected ':' after member name") }
            index += 1
            skipWhitespace()
            try skipValue()
            skipWhitespace()
            if peek(UInt8(ascii: ",")) { index += 1; continue }
            if peek(UInt8(ascii: "}")) { index += 1; break }
            throw error("unexpected \(describeCurrent()), expected ',' or '}' in object")
        }
        depth -= 1
    }

    private mutating func skipArray() throws(CoreError) {
        try enter()
        index += 1
        skipWhitespace()
        if peek(UInt8(ascii: "]")) { index += 1; depth -= 1; return }
        while true {
            skipWhitespace()
            try skipValue()
            skipWhitespace()
            if peek(UInt8(ascii: ",")) { index += 1; continue }
            if peek(UInt8(ascii: "]")) { index += 1; break }
            throw error("unexpected \(describeCurrent()), expected ',' or ']' in array")
        }
        depth -= 1
    }

    /// Moves past a string: plain ASCII by a scan, anything else through `readString`
    /// (escapes and UTF-8 checked, the same errors).
    private mutating func skipString() throws(CoreError) {
        if let end = plainASCIIStringEnd() {
            index = end + 1
        } else {
            _ = try readString()
        }
    }
}
