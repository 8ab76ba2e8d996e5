import Foundation
import SheetSyncCore

/// Writes to stdout (data) and stderr (diagnostics, logs, progress).
enum Output {
    static func out(_ text: String) {
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
    }

    static func err(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }

    /// Prints diagnostics in compiler format and a count line; returns the error count.
    @discardableResult
    static func report(_ diagnostics: [Diagnostic], toStandardOutput: Bool = false) -> Int {
        let print = toStandardOutput ? out : err
        for diagnostic in diagnostics { print(diagnostic.description) }
        let errors = diagnostics.filter { $0.severity == .error }.count
        let warnings = diagnostics.count - errors
        if !diagnostics.isEmpty {
            let files = Set(diagnostics.filter { $0.severity == .error }.map(\.file)).count
            var parts: [String] = []
            if errors > 0 { parts.append("\(errors) error\(errors == 1 ? "" : "s") in \(files) file\(files == 1 ? "" : "s")") }
            if warnings > 0 { parts.append("\(warnings) warning\(warnings == 1 ? "" : "s")") }
            print(parts.joined(separator: ", "))
        }
        return errors
    }
}
