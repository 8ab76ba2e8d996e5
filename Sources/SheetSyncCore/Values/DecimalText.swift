/// Exact decimal numbers kept as text.
///
/// sheetsync never routes a decimal through `Double`: the digits a source sends are
/// the digits stored. Normalisation only removes what carries no value: a leading
/// `+`, leading zeros of the integer part, and an exponent (`1.5e3` → `1500`).
/// Trailing zeros of the fraction are kept (`12.50` stays `12.50`), because for
/// money they usually carry meaning.
public enum DecimalText {
    /// The canonical text of `literal`, or `nil` when it is not a decimal number.
    public static func normalize(_ literal: String) -> String? {
        if isCanonical(literal) { return literal }
        var chars = Substring(literal.trimmingSpaces)
        guard !chars.isEmpty else { return nil }
        var negative = false
        if chars.first == "-" || chars.first == "+" {
            negative = chars.first == "-"
            chars = chars.dropFirst()
        }
        var integerDigits = ""
        var fractionDigits = ""
        var exponent = 0
        var seenPoint = false
        var index = chars.startIndex
        while index < chars.endIndex {
            let c = chars[index]
            if c.isASCII, c.isNumber {
                if seenPoint { fractionDigits.append(c) } else { integerDigits.append(c) }
            } else if c == ".", !seenPoint {
                seenPoint = true
            } else if c == "e" || c == "E" {
                guard let value = Int(chars[chars.index(after: index)...]), abs(value) < 10_000 else { return nil }
                exponent = value
                break
            } else {
                return nil
            }
            index = chars.index(after: index)
        }
        guard !(integerDigits.isEmpty && fractionDigits.isEmpty) else { return nil }
        if seenPoint && fractionDigits.isEmpty && exponent == 0 { fractionDigits = "" }
        // Apply the exponent by moving the decimal point.
        if exponent > 0 {
            let moved = min(exponent, fractionDigits.count)
            integerDigits += fractionDigits.prefix(moved)
            fractionDigits = String(fractionDigits.dropFirst(moved))
            integerDigits += String(repeating: "0", count: exponent - moved)
        } else if exponent < 0 {
            let shift = -exponent
            let padded = String(repeating: "0", count: max(0, shift - integerDigits.count)) + integerDigits
            fractionDigits = String(padded.suffix(shift)) + fractionDigits
            integerDigits = String(padded.dropLast(shift))
        }
        let trimmedInteger = integerDigits.drop(while: { $0 == "0" })
        let integerPart = trimmedInteger.isEmpty ? "0" : String(trimmedInteger)
        let isZero = integerPart == "0" && fractionDigits.allSatisfy { $0 == "0" }
        let sign = negative && !isZero ? "-" : ""
        return fractionDigits.isEmpty ? sign + integerPart : sign + integerPart + "." + fractionDigits
    }
}

extension DecimalText {
    /// True when `literal` is already what `normalize` returns: `-?(0|[1-9][0-9]*)(.[0-9]+)?`
    /// and not a negative zero. Checked on the bytes, so the common case costs no copy.
    static func isCanonical(_ literal: String) -> Bool {
        var utf8 = literal.utf8[...]
        var negative = false
        if utf8.first == UInt8(ascii: "-") { negative = true; utf8 = utf8.dropFirst() }
        guard let first = utf8.first, isDigit(first) else { return false }
        var allZero = first == UInt8(ascii: "0")
        var index = utf8.index(after: utf8.startIndex)
        if first == UInt8(ascii: "0"), index < utf8.endIndex, utf8[index] != UInt8(ascii: ".") { return false }
        var seenPoint = false
        var digitsAfterPoint = 0
        while index < utf8.endIndex {
            let byte = utf8[index]
            if isDigit(byte) {
                if byte != UInt8(ascii: "0") { allZero = false }
                if seenPoint { digitsAfterPoint += 1 }
            } else if byte == UInt8(ascii: "."), !seenPoint {
                seenPoint = true
            } else {
                return false
            }
            utf8.formIndex(after: &index)
        }
        if seenPoint && digitsAfterPoint == 0 { return false }
        return !(negative && allZero)
    }

    private static func isDigit(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }
}

extension StringProtocol {
    /// The string without leading and trailing spaces, tabs and line breaks.
    var trimmingSpaces: Substring {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        guard let first = firstIndex(where: { !isSpace($0) }) else { return Substring() }
        let last = lastIndex(where: { !isSpace($0) })!
        return Substring(self[first...last])
    }
}

extension String {
    /// `StringProtocol.trimmingSpaces` with a fast path: most values have no
    /// surrounding spaces, which the bytes at both ends tell without a copy.
    var trimmingSpaces: Substring {
        let isSpaceByte = { (byte: UInt8) in byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D }
        if let first = utf8.first, let last = utf8.last, !isSpaceByte(first), !isSpaceByte(last) {
            return self[...]
        }
        return self[...].trimmingSpaces
    }
}
