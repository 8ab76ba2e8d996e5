/// sheetsync's own JSON reader: works on response bytes directly.
///
/// Foundation's `JSONSerialization` on Linux parses a 99 MB array of orders at about
/// 4 MB/s with 3.7 GB of memory (DESIGN.md, "Measured"); this reader walks the UTF-8
/// bytes once, keeps number literals as text (no precision loss), validates UTF-8 and
/// escapes, and reports errors with the byte offset, line and column.
public struct JSONReader {
    /// Nesting deeper than this is refused rather than risking the stack.
    public static let maximumDepth = 512

    let bytes: UnsafeBufferPointer<UInt8>
    var index = 0
    var depth = 0

    init(_ bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    /// Parses one complete JSON document (RFC 8259); whitespace may surround it.
    public static func parse(_ bytes: [UInt8]) throws(CoreError) -> JSONValue {
        let result: Result<JSONValue, CoreError> = bytes.withUnsafeBufferPointer { buffer in
            Result { () throws(CoreError) in try parse(buffer) }
        }
        return try result.get()
    }

    /// Parses one complete JSON document from bytes the caller owns.
    public static func parse(_ buffer: UnsafeBufferPointer<UInt8>) throws(CoreError) -> JSONValue {
        var reader = JSONReader(buffer)
        reader.skipWhitespace()
        let value = try reader.readValue()
        reader.skipWhitespace()
        if reader.index != buffer.count { throw reader.error("unexpected \(reader.describeCurrent()) after the end of the document") }
        return value
    }

    /// Parses JSON text.
    public static func parse(_ text: String) throws(CoreError) -> JSONValue {
        try parse(Array(text.utf8))
    }

    // MARK: - Values

    mutating func readValue() throws(CoreError) -> JSONValue {
        guard index < bytes.count else { throw error("unexpected end of input, expected a value") }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try readObject()
        case UInt8(ascii: "["): return try readArray()
        case UInt8(ascii: "\""): return .string(try readString())
        case UInt8(ascii: "t"): try expectLiteral("true"); return .bool(true)
        case UInt8(ascii: "f"): try expectLiteral("false"); return .bool(false)
        case UInt8(ascii: "n"): try expectLiteral("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try readNumber())
        default: throw error("unexpected \(describeCurrent()), expected a value")
        }
    }

    mutating func readObject() throws(CoreError) -> JSONValue {
        try enter()
        index += 1
        var members: [JSONObject.Member] = []
        skipWhitespace()
        if peek(UInt8(ascii: "}")) { index += 1; depth -= 1; return .object(JSONObject(members)) }
        while true {
            skipWhitespace()
            guard peek(UInt8(ascii: "\"")) else { throw error("unexpected \(describeCurrent()), expected a member name in double quotes") }
            let key = try readString()
            skipWhitespace()
            guard peek(UInt8(ascii: ":")) else { throw error("unexpected \(describeCurrent()), expected ':' after member name") }
            index += 1
            skipWhitespace()
            let value = try readValue()
            members.append(JSONObject.Member(key: key, value: value))
            skipWhitespace()
            if peek(UInt8(ascii: ",")) { index += 1; continue }
            if peek(UInt8(ascii: "}")) { index += 1; break }
            throw error("unexpected \(describeCurrent()), expected ',' or '}' in object")
        }
        depth -= 1
        return .object(JSONObject(members))
    }

    mutating func readArray() throws(CoreError) -> JSONValue {
        try enter()
        index += 1
        var elements: [JSONValue] = []
        skipWhitespace()
        if peek(UInt8(ascii: "]")) { index += 1; depth -= 1; return .array(elements) }
        while true {
            skipWhitespace()
            elements.append(try readValue())
            skipWhitespace()
            if peek(UInt8(ascii: ",")) { index += 1; continue }
            if peek(UInt8(ascii: "]")) { index += 1; break }
            throw error("unexpected \(describeCurrent()), expected ',' or ']' in array")
        }
        depth -= 1
        return .array(elements)
    }

    mutating func enter() throws(CoreError) {
        depth += 1
        if depth > JSONReader.maximumDepth { throw error("nesting deeper than \(JSONReader.maximumDepth) levels") }
    }

    // MARK: - Scalars

    mutating func readNumber() throws(CoreError) -> String {
        let start = index
        try scanNumber()
        return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
    }

    /// Moves past a number, checking its grammar.
    mutating func scanNumber() throws(CoreError) {
        if peek(UInt8(ascii: "-")) { index += 1 }
        guard index < bytes.count, isDigit(bytes[index]) else { throw error("invalid number: expected a digit") }
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
            if index < bytes.count, isDigit(bytes[index]) { throw error("invalid number: leading zeros are not allowed") }
        } else {
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }
        if peek(UInt8(ascii: ".")) {
            index += 1
            guard index < bytes.count, isDigit(bytes[index]) else { throw error("invalid number: expected a digit after '.'") }
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }
        if index < bytes.count, bytes[index] | 0x20 == UInt8(ascii: "e") {
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard index < bytes.count, isDigit(bytes[index]) else { throw error("invalid number: expected a digit in the exponent") }
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }
    }

    mutating func readString() throws(CoreError) -> String {
        index += 1  // opening quote
        let start = index
        // Fast path: no escapes, plain ASCII or valid UTF-8 up to the closing quote.
        var hasEscapes = false
        var isASCII = true
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") { break }
            if byte == UInt8(ascii: "\\") { hasEscapes = true; break }
            if byte < 0x20 { throw error("control character U+\(hex(byte)) in string; it must be escaped") }
            if byte >= 0x80 { isASCII = false }
            index += 1
        }
        guard index < bytes.count else { throw error("unterminated string", at: start - 1) }
        if !hasEscapes {
            let slice = UnsafeBufferPointer(rebasing: bytes[start..<index])
            index += 1
            if isASCII { return String(decoding: slice, as: UTF8.self) }
            guard let string = String(validating: slice, as: UTF8.self) else { throw error("invalid UTF-8 in string", at: start) }
            return string
        }
        // Slow path: decode escapes into a byte buffer, then validate UTF-8.
        var out = Array(UnsafeBufferPointer(rebasing: bytes[start..<index]))
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                index += 1
                guard let string = String(validating: out, as: UTF8.self) else { throw error("invalid UTF-8 in string", at: start) }
                return string
            }
            if byte < 0x20 { throw error("control character U+\(hex(byte)) in string; it must be escaped") }
            if byte != UInt8(ascii: "\\") { out.append(byte); index += 1; continue }
            index += 1
            guard index < bytes.count else { break }
            let escape = bytes[index]
            index += 1
            switch escape {
            case UInt8(ascii: "\""): out.append(0x22)
            case UInt8(ascii: "\\"): out.append(0x5C)
            case UInt8(ascii: "/"): out.append(0x2F)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try readHex4()
                if (0xD800...0xDBFF).contains(scalar) {
                    guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else {
                        throw error("lone high surrogate \\u\(String(scalar, radix: 16, uppercase: true)) in string", at: index - 6)
                    }
                    index += 2
                    let low = try readHex4()
                    guard (0xDC00...0xDFFF).contains(low) else { throw error("high surrogate not followed by a low surrogate", at: index - 6) }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                } else if (0xDC00...0xDFFF).contains(scalar) {
                    throw error("lone low surrogate \\u\(String(scalar, radix: 16, uppercase: true)) in string", at: index - 6)
                }
                out.append(contentsOf: UTF8.encode(Unicode.Scalar(scalar)!)!)
            default:
                throw error("invalid escape '\\\(String(decoding: [escape], as: UTF8.self))' in string", at: index - 2)
            }
        }
        throw error("unterminated string", at: start - 1)
    }

    private mutating func readHex4() throws(CoreError) -> UInt32 {
        guard index + 4 <= bytes.count else { throw error("truncated \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt32
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - 48)
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - 87)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - 55)
            default: throw error("invalid hex digit in \\u escape")
            }
            value = value << 4 | digit
            index += 1
        }
        return value
    }

    private static let trueBytes: [UInt8] = Array("true".utf8)
    private static let falseBytes: [UInt8] = Array("false".utf8)
    private static let nullBytes: [UInt8] = Array("null".utf8)

    mutating func expectLiteral(_ literal: String) throws(CoreError) {
        let expected = literal == "true" ? Self.trueBytes : literal == "false" ? Self.falseBytes : Self.nullBytes
        let count = expected.count
        guard index + count <= bytes.count else { throw error("unexpected end of input, expected '\(literal)'") }
        for offset in 0..<count where bytes[index + offset] != expected[offset] {
            throw error("unexpected \(describeCurrent()), expected a value")
        }
        index += count
    }

    // MARK: - Helpers

    mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x0A, 0x0D, 0x09: index += 1
            default: return
            }
        }
    }

    func peek(_ byte: UInt8) -> Bool {
        index < bytes.count && bytes[index] == byte
    }

    func isDigit(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }

    private func hex(_ byte: UInt8) -> String {
        let text = String(byte, radix: 16, uppercase: true)
        return String(repeating: "0", count: 4 - text.count) + text
    }

    func describeCurrent() -> String {
        guard index < bytes.count else { return "end of input" }
        let byte = bytes[index]
        if byte >= 0x21, byte < 0x7F { return "'\(String(decoding: [byte], as: UTF8.self))'" }
        return "byte 0x\(String(byte, radix: 16, uppercase: true))"
    }

    /// An error at the current (or given) byte offset, with line and column.
    func error(_ message: String, at offset: Int? = nil) -> CoreError {
        let position = min(offset ?? index, bytes.count)
        var line = 1
        var column = 1
        for byte in bytes[0..<position] {
            if byte == 0x0A { line += 1; column = 1 } else if byte & 0xC0 != 0x80 { column += 1 }
        }
        return CoreError(.invalidJSON, "invalid JSON at line \(line), column \(column) (byte \(position)): \(message)", offset: position)
    }
}
