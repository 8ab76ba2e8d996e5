extension JSONPath {
    /// Parses a path such as `$.data[*].items`, `$parent['order id']`, `$parent_json.meta.ref` or
    /// `$response.headers.etag`.
    ///
    /// - Throws: `CoreError` `.invalidJSONPath` whose `offset` is the character
    ///   position of the problem, so a file reader can point at the exact column.
    ///
    /// One hand-written recursive-descent loop over the characters, longer than most
    /// functions here on purpose: each branch is one piece of the grammar, in order.
    public init(parsing text: String) throws(CoreError) {
        let chars = Array(text)
        var position = 0

        func fail(_ message: String, at offset: Int? = nil) -> CoreError {
            CoreError(.invalidJSONPath, "invalid JSON path '\(text)': \(message)", offset: offset ?? position)
        }

        guard chars.first == "$" else {
            if chars.isEmpty { throw fail("a path must start with '$'") }
            throw fail("a path must start with '$' (for example '$.\(text)')", at: 0)
        }
        position = 1
        var root = Root.current
        if text.hasPrefix("$parent_json"), chars.count == 12 || [".", "["].contains(chars[12]) {
            root = .parentJSON
            position = 12
        } else if text.hasPrefix("$parent"), chars.count == 7 || [".", "["].contains(chars[7]) {
            root = .parent
            position = 7
        } else if text.hasPrefix("$response"), chars.count == 9 || [".", "["].contains(chars[9]) {
            root = .response
            position = 9
        }
        var components: [Component] = []
        while position < chars.count {
            switch chars[position] {
            case ".":
                position += 1
                if position < chars.count, chars[position] == "*" {
                    components.append(.wildcard)
                    position += 1
                    continue
                }
                let start = position
                while position < chars.count, chars[position].unicodeScalars.allSatisfy(JSONPath.isIdentifierScalar) {
                    position += 1
                }
                if position == start {
                    if position == chars.count { throw fail("expected a member name after '.'") }
                    if chars[position] == "." { throw fail("expected a member name after '.'; '..' (recursive descent) is not supported") }
                    throw fail("unexpected '\(chars[position])' in a member name; use ['...'] for names with special characters")
                }
                components.append(.member(String(chars[start..<position])))
            case "[":
                let open = position
                position += 1
                guard position < chars.count else { throw fail("unclosed '['", at: open) }
                let c = chars[position]
                if c == "*" {
                    position += 1
                    components.append(.wildcard)
                } else if c == "'" || c == "\"" {
                    let quote = c
                    position += 1
                    var name = ""
                    var closed = false
                    while position < chars.count {
                        let d = chars[position]
                        if d == "\\", position + 1 < chars.count {
                            name.append(chars[position + 1])
                            position += 2
                            continue
                        }
                        if d == quote { closed = true; position += 1; break }
                        name.append(d)
                        position += 1
                    }
                    guard closed else { throw fail("unterminated quoted name", at: open + 1) }
                    components.append(.member(name))
                } else if c == "-" || c.isASCII && c.isNumber {
                    let start = position
                    position += 1
                    while position < chars.count, chars[position].isASCII, chars[position].isNumber { position += 1 }
                    guard let index = Int(String(chars[start..<position])) else { throw fail("invalid array index", at: start) }
                    components.append(.index(index))
                } else if c == "?" {
                    throw fail("filter expressions ('[?...]') are not supported")
                } else {
                    throw fail("expected an index, '*' or a quoted name after '['")
                }
                guard position < chars.count, chars[position] == "]" else {
                    if position < chars.count, chars[position] == ":" { throw fail("slices ('[a:b]') are not supported") }
                    throw fail("expected ']'")
                }
                position += 1
            default:
                throw fail("unexpected '\(chars[position])'; expected '.' or '['")
            }
        }
        self.init(root: root, components: components, text: text)
    }
}
