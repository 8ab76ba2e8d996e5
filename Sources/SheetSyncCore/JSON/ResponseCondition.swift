/// `request.error.when`: a condition on a successful (2xx) response's JSON body that
/// makes it a failure, for APIs that report errors inside a 200:
/// `when: "$.error_code != 0"`.
///
/// Grammar (no parentheses; `&&` binds tighter than `||`):
///
///     condition  := all ( "||" all )*
///     all        := test ( "&&" test )*
///     test       := "!" PATH | PATH | PATH OP LITERAL
///     OP         := "==" | "!=" | "<" | "<=" | ">" | ">="
///     LITERAL    := number | "text" | 'text' | true | false | null
///
/// A bare path holds when its value is present and not null, false, 0, "" or empty;
/// `!PATH` when it is not. A member that is missing reads as null, and null matches no
/// comparison but `== null` (and `!= null` for everything else): a successful response
/// that simply has no `error_code` member is not an error by `$.error_code != 0`.
/// Numbers compare as numbers, strings as strings; values of different kinds are
/// never equal and never ordered.
public struct ResponseCondition: Sendable, Hashable, CustomStringConvertible {
    public enum Operator: String, Sendable, CaseIterable {
        case equal = "==", notEqual = "!=", lessOrEqual = "<=", greaterOrEqual = ">=", less = "<", greater = ">"
    }

    /// One test: a path alone (truthy, or negated) or compared with a literal.
    public struct Test: Sendable, Hashable {
        public var path: JSONPath
        public var negated = false
        public var comparison: Operator?
        public var literal: JSONValue?
    }

    /// Tests joined by `&&`, and those groups joined by `||`.
    public let alternatives: [[Test]]
    /// The condition as written.
    public let text: String

    public var description: String { text }

    /// Every path the condition reads.
    public var paths: [JSONPath] { alternatives.flatMap { $0.map(\.path) } }

    public init(parsing text: String) throws(CoreError) {
        self.text = text
        var alternatives: [[Test]] = []
        for alternative in Self.split(text, on: "||") {
            var tests: [Test] = []
            for part in Self.split(alternative, on: "&&") {
                tests.append(try Self.test(part.trimmingWhiteSpace(), in: text))
            }
            alternatives.append(tests)
        }
        self.alternatives = alternatives
    }

    /// Whether the condition holds for `document`.
    public func holds(in document: JSONValue) -> Bool {
        alternatives.contains { tests in tests.allSatisfy { Self.holds($0, in: document) } }
    }

    // MARK: - Evaluation

    static func holds(_ test: Test, in document: JSONValue) -> Bool {
        let value = test.path.value(in: document) ?? .null
        guard let comparison = test.comparison, let literal = test.literal else {
            return isTruthy(value) != test.negated
        }
        switch comparison {
        case .equal: return same(value, literal)
        case .notEqual:
            if literal == .null { return value != .null }
            if value == .null { return false }
            return !same(value, literal)
        default:
            guard let order = order(value, literal) else { return false }
            switch comparison {
            case .less: return order < 0
            case .lessOrEqual: return order <= 0
            case .greater: return order > 0
            default: return order >= 0
            }
        }
    }

    static func isTruthy(_ value: JSONValue) -> Bool {
        switch value {
        case .null: false
        case .bool(let flag): flag
        case .number(let text): Double(text) != 0
        case .string(let text): !text.isEmpty
        case .array(let elements): !elements.isEmpty
        case .object(let object): !object.members.isEmpty
        }
    }

    static func same(_ left: JSONValue, _ right: JSONValue) -> Bool {
        if case .number(let a) = left, case .number(let b) = right { return a == b || (Double(a) != nil && Double(a) == Double(b)) }
        return left == right
    }

    /// -1, 0 or 1; nil for values that have no order between them.
    static func order(_ left: JSONValue, _ right: JSONValue) -> Int? {
        switch (left, right) {
        case (.number(let a), .number(let b)):
            guard let x = Double(a), let y = Double(b) else { return nil }
            return x < y ? -1 : (x > y ? 1 : 0)
        case (.string(let a), .string(let b)):
            return a < b ? -1 : (a > b ? 1 : 0)
        default:
            return nil
        }
    }

    // MARK: - Parsing

    /// Splits on `separator` outside quoted literals.
    static func split(_ text: String, on separator: String) -> [String] {
        var parts: [String] = []
        var current = ""
        var quote: Character?
        var rest = Substring(text)
        while let char = rest.first {
            if let open = quote {
                if char == open { quote = nil }
                current.append(char)
                rest = rest.dropFirst()
            } else if rest.hasPrefix(separator) {
                parts.append(current)
                current = ""
                rest = rest.dropFirst(separator.count)
            } else {
                if char == "\"" || char == "'" { quote = char }
                current.append(char)
                rest = rest.dropFirst()
            }
        }
        parts.append(current)
        return parts
    }

    static func test(_ part: String, in whole: String) throws(CoreError) -> Test {
        func fail(_ message: String) -> CoreError {
            CoreError(.invalidCondition, "invalid condition '\(whole)': \(message)")
        }
        guard !part.isEmpty else { throw fail("a test is empty (write, for example, \"$.error_code != 0\")") }
        if part.hasPrefix("!"), !part.hasPrefix("!=") {
            let path = try parsePath(String(part.dropFirst()).trimmingWhiteSpace(), fail: fail)
            return Test(path: path, negated: true)
        }
        if part.contains(" = ") { throw fail("compare with '==', not '='") }
        // The first operator outside the path: paths hold no '=', '<', '>' or '!' outside quotes.
        for op in Operator.allCases {
            if let range = Substring(part).range(of: " " + op.rawValue + " ") ?? Substring(part).range(of: op.rawValue) {
                let left = String(part[..<range.lowerBound]).trimmingWhiteSpace()
                let right = String(part[range.upperBound...]).trimmingWhiteSpace()
                let path = try parsePath(left, fail: fail)
                return Test(path: path, comparison: op, literal: try literal(right, fail: fail))
            }
        }
        return Test(path: try parsePath(part, fail: fail))
    }

    static func parsePath(_ text: String, fail: (String) -> CoreError) throws(CoreError) -> JSONPath {
        guard text.hasPrefix("$") else { throw fail("'\(text)' is not a JSON path; a test starts with one, such as '$.error_code'") }
        let path: JSONPath
        do {
            path = try JSONPath(parsing: text)
        } catch {
            throw fail(error.message)
        }
        guard path.root == .current, path.isSingular else {
            throw fail("'\(text)' must select one value of the response body ('$.…', no wildcard)")
        }
        return path
    }

    static func literal(_ text: String, fail: (String) -> CoreError) throws(CoreError) -> JSONValue {
        switch text {
        case "null": return .null
        case "true": return .bool(true)
        case "false": return .bool(false)
        default: break
        }
        if let first = text.first, first == "\"" || first == "'" {
            guard text.count >= 2, text.last == first else { throw fail("the text \(text) has no closing \(first)") }
            return .string(String(text.dropFirst().dropLast()))
        }
        if let normalized = DecimalText.normalize(text) { return .number(normalized) }
        throw fail("'\(text)' is not a value; compare with a number, \"quoted text\", true, false or null")
    }
}

extension String {
    func trimmingWhiteSpace() -> String {
        var scalars = Substring(self)
        while let first = scalars.first, first == " " || first == "\t" { scalars = scalars.dropFirst() }
        while let last = scalars.last, last == " " || last == "\t" { scalars = scalars.dropLast() }
        return String(scalars)
    }
}
