import Foundation
import SheetSyncCore
import Yams

/// Collects the problems found in one file so that all of them are reported in one pass.
final class DiagnosticSink {
    let file: String
    private(set) var diagnostics: [Diagnostic] = []

    init(file: String) {
        self.file = file
    }

    var hasErrors: Bool { diagnostics.contains { $0.severity == .error } }

    func error(_ message: String, at mark: Mark?, columnOffset: Int = 0) {
        add(.error, message, at: mark, columnOffset: columnOffset)
    }

    func warning(_ message: String, at mark: Mark?, columnOffset: Int = 0) {
        add(.warning, message, at: mark, columnOffset: columnOffset)
    }

    /// An error at a position that has no Yams `Mark` (Yams does not let us make one).
    func error(_ message: String, line: Int, column: Int) {
        diagnostics.append(Diagnostic(file: file, line: line, column: column, severity: .error, message: message))
    }

    private func add(_ severity: Diagnostic.Severity, _ message: String, at mark: Mark?, columnOffset: Int) {
        diagnostics.append(Diagnostic(file: file, line: mark?.line ?? 1, column: (mark?.column ?? 1) + columnOffset,
                                      severity: severity, message: message))
    }

    /// Parses YAML text into a node tree, reporting syntax errors at their position.
    ///
    /// A text whose aliases would expand past `YAMLAliasBudget` is refused before it
    /// is composed: everything that reads the tree walks each alias in full.
    func compose(_ text: String) -> Node? {
        if let overrun = YAMLAliasBudget.firstOverrun(in: text) {
            self.error(overrun.message, line: overrun.line, column: overrun.column)
            return nil
        }
        do {
            return try Yams.compose(yaml: text)
        } catch let error as YamlError {
            switch error {
            case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
                 .composer(let context, let problem, let mark, _):
                let detail = context.map { " \($0.text) that starts at line \($0.mark.line), column \($0.mark.column)" } ?? ""
                let hint = YAMLHints.hint(in: text, lines: [mark.line] + (context.map { [$0.mark.line] } ?? []))
                self.error("YAML syntax error: \(problem)\(detail)\(hint.map { "; " + $0 } ?? "")", at: mark)
            case .duplicatedKeysInMapping(let duplicates, let context):
                // At the repeated key, not at the start of the mapping (the first occurrence).
                let repeated = YAMLHints.secondOccurrence(of: duplicates.first ?? "", in: text, from: context.mark)
                let message = "duplicate key '\(duplicates.joined(separator: "', '"))'; each key may appear once"
                if let repeated {
                    self.error(message, line: repeated.line, column: repeated.column)
                } else {
                    self.error(message, at: context.mark)
                }
            default:
                self.error("YAML syntax error: \(error)", at: nil)
            }
        } catch {
            self.error("YAML syntax error: \(error)", at: nil)
        }
        return nil
    }
}

/// What to do about the YAML mistakes people make most in these files, added to the
/// parser's own words (which name the token, not the cause).
enum YAMLHints {
    /// A hint for the first of `lines` (1-based) that shows a known mistake.
    static func hint(in text: String, lines: [Int]) -> String? {
        let all = text.split(separator: "\n", omittingEmptySubsequences: false)
        for number in lines where number >= 1 && number <= all.count {
            let line = all[number - 1]
            if line.prefix(while: { $0 == " " || $0 == "\t" }).contains("\t") {
                return "line \(number) is indented with a tab; YAML indents with spaces only"
            }
            if let range = line.range(of: #":\s+\{\{"#, options: .regularExpression) {
                let key = line[..<range.lowerBound].trimmingCharacters(in: .whitespaces)
                return "a value that starts with '{{' must be quoted, or YAML reads it as a mapping: \(key): \"\(line[range.lowerBound...].drop { $0 != "{" })\""
            }
        }
        return nil
    }

    /// Where `key` appears for the second time as a key after `start` (1-based line and
    /// column), in block (`key:` at the start of a line) or flow (`{ key: …, key: … }`) style.
    static func secondOccurrence(of key: String, in text: String, from start: Mark) -> (line: Int, column: Int)? {
        guard !key.isEmpty else { return nil }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        let escaped = NSRegularExpression.escapedPattern(for: key)
        guard let pattern = try? NSRegularExpression(pattern: #"(^|[\s{,])(["']?)"# + escaped + #"\2\s*:(\s|$)"#) else { return nil }
        var seen = 0
        for index in max(0, start.line - 1)..<lines.count {
            let line = String(lines[index])
            let range = NSRange(line.startIndex..., in: line)
            for match in pattern.matches(in: line, range: range) {
                let keyStart = match.range(at: 2).location
                if index == start.line - 1, keyStart + 1 < start.column { continue }
                seen += 1
                if seen == 2 { return (index + 1, keyStart + 1) }
            }
        }
        return nil
    }
}
