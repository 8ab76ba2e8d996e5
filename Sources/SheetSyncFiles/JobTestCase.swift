import Foundation
import SheetSyncCore
import Yams

/// One offline test of a job's mapping: a saved response and the rows it must become.
///
/// Beside the job, `tests/JOB/NAME.json` holds a response body and
/// `tests/JOB/NAME.expected.yml` what mapping it must give:
///
/// ```yaml
/// orders:                      # a worksheet: its rows, in order
///   - { id: o1, status: paid, total: "12.50" }
/// order_items:
///   - { order_id: o1, sku: S1, quantity: 2 }
/// rejects: 1                   # optional: how many records are rejected
/// ```
///
/// A row lists the fields it checks (others are not compared); values compare as text
/// (`12.50` is not `12.5`), `null` is a missing value. Each listed worksheet must give
/// exactly that many rows.
public struct JobTestCase: Sendable {
    public var job: String
    public var name: String
    /// The saved response body.
    public var response: URL
    /// The file the expectations come from, as the user would name it.
    public var expectedFile: String
    /// Per worksheet, its rows: field → value as text (nil for null).
    public var rows: [String: [[String: String?]]] = [:]
    public var rejects: Int?

    /// The cases under `directory/tests/`, for one job or all, in name order, with the
    /// problems of their expectation files (a case without one is a problem too).
    public static func load(directory: URL, job: String? = nil) -> (cases: [JobTestCase], problems: [Diagnostic]) {
        let root = directory.appendingPathComponent("tests")
        let fileManager = FileManager.default
        let jobs = job.map { [$0] } ?? ((try? fileManager.contentsOfDirectory(atPath: root.path)) ?? []).filter { !$0.hasPrefix(".") }.sorted()
        var cases: [JobTestCase] = []
        var problems: [Diagnostic] = []
        for name in jobs {
            let folder = root.appendingPathComponent(name)
            let files = ((try? fileManager.contentsOfDirectory(atPath: folder.path)) ?? []).filter { $0.hasSuffix(".json") }.sorted()
            for file in files {
                let caseName = String(file.dropLast(".json".count))
                let display = "tests/\(name)/\(caseName).expected.yml"
                var testCase = JobTestCase(job: name, name: caseName, response: folder.appendingPathComponent(file), expectedFile: display)
                guard let text = try? String(contentsOf: folder.appendingPathComponent("\(caseName).expected.yml"), encoding: .utf8) else {
                    problems.append(Diagnostic(file: display, line: 1, column: 1, message: "missing: write the rows tests/\(name)/\(file) must give (see README, 'Job tests')"))
                    continue
                }
                let sink = DiagnosticSink(file: display)
                testCase.read(text, sink: sink)
                problems += sink.diagnostics
                if !sink.hasErrors { cases.append(testCase) }
            }
        }
        return (cases, problems)
    }

    mutating func read(_ text: String, sink: DiagnosticSink) {
        let reader = NodeReader(sink: sink)
        guard let root = sink.compose(text), let pairs = root.mapping else {
            sink.error("expected a mapping of worksheet names to lists of rows", at: nil)
            return
        }
        for (key, value) in pairs {
            guard let worksheet = key.scalar?.string else { continue }
            if worksheet == "rejects" {
                rejects = reader.int(value, "rejects", range: 0...Int.max)
                continue
            }
            guard let items = value.sequence else {
                sink.error("expected a list of rows for '\(worksheet)', found \(reader.describe(value))", at: value.mark)
                continue
            }
            var list: [[String: String?]] = []
            for item in items {
                guard let fields = item.mapping else {
                    sink.error("expected a row (a mapping of field names to values) in '\(worksheet)', found \(reader.describe(item))", at: item.mark)
                    continue
                }
                var row: [String: String?] = [:]
                for (field, value) in fields {
                    guard let name = field.scalar?.string else { continue }
                    row[name] = reader.isNull(value) ? .some(nil) : .some(value.scalar?.string ?? ((try? Yams.serialize(node: value)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines))
                }
                list.append(row)
            }
            rows[worksheet] = list
        }
    }
}
