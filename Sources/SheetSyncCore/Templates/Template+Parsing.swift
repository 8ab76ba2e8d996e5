extension Template {
    /// Parses `text`, checking each reference's source and name.
    ///
    /// - Throws: `CoreError` `.invalidTemplate` with the character offset of the
    ///   problem.
    public init(parsing text: String) throws(CoreError) {
        let chars = Array(text)
        var parts: [Part] = []
        var literal = ""
        var position = 0

        func fail(_ message: String, at offset: Int) -> CoreError {
            CoreError(.invalidTemplate, "invalid template '\(text)': \(message)", offset: offset)
        }

        while position < chars.count {
            if chars[position] == "}", position + 1 < chars.count, chars[position + 1] == "}" {
                throw fail("'}}' without a matching '{{'", at: position)
            }
            guard chars[position] == "{", position + 1 < chars.count, chars[position + 1] == "{" else {
                literal.append(chars[position])
                position += 1
                continue
            }
            let open = position
            position += 2
            var close: Int?
            var scan = position
            while scan + 1 < chars.count {
                if chars[scan] == "}" && chars[scan + 1] == "}" { close = scan; break }
                if chars[scan] == "{" && chars[scan + 1] == "{" { break }
                scan += 1
            }
            guard let close else { throw fail("'{{' is never closed with '}}'", at: open) }
            let inner = String(chars[position..<close])
            let leading = inner.prefix(while: { $0 == " " }).count
            let expression = String(inner.trimmingSpaces)
            let start = position + leading
            if expression.isEmpty { throw fail("empty reference '{{}}'; expected something like '{{env.NAME}}'", at: open) }
            if expression.contains("|") {
                throw fail("filters ('|') are not supported in references", at: start + (expression.firstIndex(of: "|").map { expression.distance(from: expression.startIndex, to: $0) } ?? 0))
            }
            let pieces = expression.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            let sourceName = pieces[0]
            guard let source = TemplateSource(rawValue: sourceName) else {
                let known = TemplateSource.allCases.map(\.rawValue)
                throw fail("unknown source '\(sourceName)'\(Suggestion.didYouMean(sourceName, in: known)) (sources: \(known.joined(separator: ", ")))", at: start)
            }
            let path = Array(pieces.dropFirst())
            if path.isEmpty {
                throw fail("'\(sourceName)' needs a name, as in '{{\(sourceName).\(Template.exampleName(for: source))}}'", at: start)
            }
            var offset = start + sourceName.count + 1
            for piece in path {
                if piece.isEmpty { throw fail("empty name in '\(expression)'", at: offset) }
                if let bad = piece.firstIndex(where: { !($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") }) {
                    throw fail("unexpected '\(piece[bad])' in name '\(piece)'", at: offset + piece.distance(from: piece.startIndex, to: bad))
                }
                offset += piece.count + 1
            }
            switch source {
            case .env, .secret:
                if path.count > 1 || !(path[0].first.map { $0.isLetter || $0 == "_" } ?? false) || path[0].contains("-") {
                    throw fail("'\(expression)' is not a valid variable name; expected letters, digits and '_', as in '{{\(sourceName).SHOP_TOKEN}}'", at: start + sourceName.count + 1)
                }
            case .window:
                if path != ["start"], path != ["end"] {
                    throw fail("unknown window value '\(path.joined(separator: "."))'; expected 'window.start' or 'window.end'", at: start + sourceName.count + 1)
                }
            case .steps:
                if path.count < 2 {
                    throw fail("'steps' needs a step name and a value, as in '{{steps.lookup.id}}'", at: start)
                }
            default:
                break
            }
            if !literal.isEmpty { parts.append(.literal(literal)); literal = "" }
            parts.append(.reference(TemplateReference(source: source, path: path, offset: open)))
            position = close + 2
        }
        if !literal.isEmpty { parts.append(.literal(literal)) }
        self.init(parts: parts, text: text)
    }

    static func exampleName(for source: TemplateSource) -> String {
        switch source {
        case .env: "SHOP_URL"
        case .secret: "SHOP_TOKEN"
        case .param: "status"
        case .state: "cursor"
        case .window: "start"
        case .page: "number"
        case .record: "id"
        case .steps: "lookup.id"
        }
    }
}
