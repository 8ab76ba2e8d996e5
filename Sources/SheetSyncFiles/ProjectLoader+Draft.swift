import Foundation
import SheetSyncCore
import Yams

/// A job file read for `sheetsync infer`: its worksheets need not exist yet.
public struct DraftJob: Sendable {
    /// The job, when the file has no problem other than worksheets without a schema file.
    public var job: JobDefinition?
    /// Every problem of the file (worksheets that are not defined are none).
    public var diagnostics: [Diagnostic]
    /// The file as it is on disk (`infer --write` appends to it).
    public var text: String
    /// The file's path relative to the project: `jobs/NAME.yml`.
    public var file: String
    /// The top-level keys the file has (`fields`, `children`, `records`…).
    public var keys: Set<String>
    /// Whether the top level is a block mapping, the only form keys can be appended to.
    public var isBlockMapping: Bool
}

extension ProjectLoader {
    /// Reads `jobs/NAME.yml` (or `.yaml`) of `project` as `load` does, except that the
    /// worksheets it names (its own and its children's) need not be defined: `sheetsync
    /// infer` proposes them. Returns nil when there is no such file.
    public static func loadDraftJob(named name: String, in project: Project) -> DraftJob? {
        let folder = project.directory.appendingPathComponent("jobs")
        guard let (url, display) = ["yml", "yaml"].lazy
            .map({ (folder.appendingPathComponent("\(name).\($0)"), "jobs/\(name).\($0)") })
            .first(where: { FileManager.default.fileExists(atPath: $0.0.path) }) else { return nil }
        var diagnostics: [Diagnostic] = []
        guard let text = readText(url, display: display, into: &diagnostics) else {
            return DraftJob(job: nil, diagnostics: diagnostics, text: "", file: display, keys: [], isBlockMapping: false)
        }
        let worksheets = Dictionary(project.worksheets.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        var context = jobContext(worksheets: worksheets, settings: project.settings, secrets: project.secrets,
                                 environment: project.environment, checkCondition: nil)
        context.allowsUndefinedWorksheets = true
        let sink = DiagnosticSink(file: display)
        let job = JobFileDecoder(sink: sink, context: context).decode(text, name: name)
        diagnostics += sink.diagnostics
        // Composed again only for a file the decoder accepted (so never an alias bomb).
        let root = sink.hasErrors ? nil : try? Yams.compose(yaml: text)
        let keys = Set(root?.mapping?.keys.compactMap { $0.scalar?.string } ?? [])
        return DraftJob(job: sink.hasErrors ? nil : job, diagnostics: diagnostics.sorted(), text: text, file: display,
                        keys: keys, isBlockMapping: root?.mapping != nil && !startsWithFlowMapping(text))
    }

    /// Whether the first line that is not blank, a comment or `---` opens a flow mapping.
    /// (Yams' composed nodes do not keep the block or flow style.)
    static func startsWithFlowMapping(_ text: String) -> Bool {
        for line in text.split(whereSeparator: \.isNewline) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") || trimmed == "---" { continue }
            return trimmed.hasPrefix("{")
        }
        return false
    }
}
