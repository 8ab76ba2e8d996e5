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
                self.error("YAML syntax error: \(problem)\(detail)", at: mark)
            case .duplicatedKeysInMapping(let duplicates, let context):
                self.error("duplicate key '\(duplicates.joined(separator: "', '"))'; each key may appear once", at: context.mark)
            default:
                self.error("YAML syntax error: \(error)", at: nil)
            }
        } catch {
            self.error("YAML syntax error: \(error)", at: nil)
        }
        return nil
    }
}
