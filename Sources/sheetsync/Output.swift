import Foundation
import SheetSyncCore

/// Writes to stdout (data) and stderr (diagnostics, logs, progress).
///
/// A closed stdout (`sheetsync test JOB | head -1`) ends the process quietly, as SIGPIPE
/// ends any Unix tool: the HTTP client ignores SIGPIPE for its sockets, so a write to a
/// closed pipe fails with EPIPE instead, and Foundation's `FileHandle.write` traps on it.
enum Output {
    static func out(_ text: String, terminator: String = "\n") {
        write(text + terminator, to: STDOUT_FILENO)
    }

    static func err(_ text: String) {
        write(text + "\n", to: STDERR_FILENO)
    }

    /// A question on standard error, the answer typed after it on the same line.
    static func prompt(_ text: String) {
        write(text, to: STDERR_FILENO)
    }

    /// Writes every byte of `text`, or ends the process as SIGPIPE would when the reader
    /// has gone. Other write errors (a full disk behind a redirect) drop the text: there is
    /// nowhere left to report them.
    private static func write(_ text: String, to descriptor: Int32) {
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { buffer in
                Glibc.write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
            }
            if written >= 0 {
                offset += written
            } else if errno == EINTR {
                continue
            } else if errno == EPIPE {
                signal(SIGPIPE, SIG_DFL)
                raise(SIGPIPE)
                _exit(128 + SIGPIPE)
            } else {
                return
            }
        }
    }

    /// Prints diagnostics in compiler format and a count line; returns the error count.
    @discardableResult
    static func report(_ diagnostics: [Diagnostic], toStandardOutput: Bool = false) -> Int {
        let print: (String) -> Void = toStandardOutput ? { out($0) } : { err($0) }
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

/// A help text written with hard line breaks, as one line per paragraph: the argument
/// parser wraps text to the terminal itself, and kept breaks made lines of one word
/// mid-sentence (issue 18). Paragraphs are separated by a blank line; a line starting
/// with "  " or "- " keeps its break (examples, lists).
func paragraphs(_ text: String) -> String {
    var result: [String] = []
    for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
        let keepsBreak = line.isEmpty || line.hasPrefix("  ") || line.hasPrefix("- ") || result.last.map(\.isEmpty) ?? true
            || result.last?.hasPrefix("  ") == true
        if keepsBreak {
            result.append(String(line))
        } else {
            result[result.count - 1] += " " + line
        }
    }
    return result.joined(separator: "\n")
}
