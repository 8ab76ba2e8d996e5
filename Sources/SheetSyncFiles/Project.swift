import Foundation
import SheetSyncCore

/// A sheetsync project as loaded from disk: settings, worksheets, jobs, and every
/// problem found while reading them.
///
/// Files with errors are left out of `worksheets` and `jobs` (their problems are in
/// `diagnostics`), so callers can still work with the valid rest.
public struct Project: Sendable {
    public var directory: URL
    public var settings: ProjectSettings
    public var worksheets: [WorksheetDefinition]
    public var jobs: [JobDefinition]
    public var diagnostics: [Diagnostic]
    public var secrets: SecretStore
    public var environment: [String: String]

    public var errors: [Diagnostic] { diagnostics.filter { $0.severity == .error } }
    public var hasErrors: Bool { !errors.isEmpty }

    public func worksheet(named name: String) -> WorksheetDefinition? {
        worksheets.first { $0.name == name }
    }

    public func job(named name: String) -> JobDefinition? {
        jobs.first { $0.name == name }
    }

    /// Worksheets read by push jobs: their changes are captured by triggers.
    public var capturedWorksheets: Set<String> {
        Set(jobs.compactMap { job in
            if case .push = job.kind { return job.worksheet }
            return nil
        })
    }

    /// Each push job's worksheet (job name → worksheet name).
    public var pushJobWorksheets: [String: String] {
        Dictionary(uniqueKeysWithValues: jobs.compactMap { job in
            if case .push = job.kind { return (job.name, job.worksheet) }
            return nil
        })
    }

    /// The value of `{{env.X}}`: the environment, else sheetsync.yml's `env:` defaults.
    public func env(_ name: String) -> String? {
        environment[name] ?? settings.env[name]
    }

    /// The database file: `--db`, else `SHEETSYNC_DB`, else sheetsync.yml's
    /// `database`, else `sheetsync.db` in the project directory. Relative paths
    /// from sheetsync.yml are relative to the project; from the command line or
    /// environment, relative to the current directory.
    public func databaseURL(override: String? = nil) -> URL {
        if let override, !override.isEmpty { return URL(fileURLWithPath: override) }
        if let fromEnvironment = environment["SHEETSYNC_DB"], !fromEnvironment.isEmpty {
            return URL(fileURLWithPath: fromEnvironment)
        }
        let path = settings.database ?? ProjectSettings.defaultDatabase
        if path.hasPrefix("/") { return URL(fileURLWithPath: path) }
        return directory.appendingPathComponent(path)
    }
}

/// Reads a project directory: `sheetsync.yml`, `schema/*.yml`, `jobs/*.yml`.
public enum ProjectLoader {
    /// Says why an SQL condition (a push job's `when`) cannot run against a worksheet, or
    /// nil when it can. The store provides it (`WorksheetDatabase.conditionProblem`); this
    /// module reads files and knows no SQL.
    public typealias ConditionChecker = @Sendable (_ condition: String, _ worksheet: WorksheetDefinition) -> String?

    /// Loads and validates everything; never throws: problems become diagnostics.
    /// With `checkCondition`, push jobs' `when` conditions are compiled against their worksheet.
    public static func load(directory: URL, environment: [String: String] = ProcessInfo.processInfo.environment,
                            checkCondition: ConditionChecker? = nil) -> Project {
        var diagnostics: [Diagnostic] = []
        let fileManager = FileManager.default
        var isDirectory: ObjCBool = false
        if !fileManager.fileExists(atPath: directory.path, isDirectory: &isDirectory) || !isDirectory.boolValue {
            diagnostics.append(Diagnostic(file: directory.path, line: 1, column: 1,
                                          message: "project directory '\(directory.path)' does not exist; pass --project DIR or run from the project directory"))
        }

        // sheetsync.yml
        var settings = ProjectSettings()
        let settingsURL = directory.appendingPathComponent("sheetsync.yml")
        if let text = readText(settingsURL, display: "sheetsync.yml", into: &diagnostics) {
            let sink = DiagnosticSink(file: "sheetsync.yml")
            settings = SettingsFileDecoder(sink: sink).decode(text)
            diagnostics += sink.diagnostics
        }

        // Secrets
        var fileSecrets: [String: String] = [:]
        if let secretsFile = settings.secretsFile {
            let url = secretsFile.hasPrefix("/") ? URL(fileURLWithPath: secretsFile) : directory.appendingPathComponent(secretsFile)
            let loaded = SecretStore.loadFile(at: url, displayName: secretsFile)
            fileSecrets = loaded.values
            diagnostics += loaded.diagnostics
        }
        let secrets = SecretStore(environment: environment, fileValues: fileSecrets)

        // schema/*.yml
        var worksheets: [String: WorksheetDefinition] = [:]
        var worksheetFiles: [String: String] = [:]
        var brokenWorksheets: [String: String] = [:]
        for (url, display) in yamlFiles(in: directory.appendingPathComponent("schema"), folder: "schema") {
            guard let text = readText(url, display: display, into: &diagnostics) else { continue }
            let sink = DiagnosticSink(file: display)
            let name = url.deletingPathExtension().lastPathComponent
            defer {
                if sink.hasErrors { brokenWorksheets[Self.declaredWorksheetName(in: text) ?? name] = display }
            }
            if let worksheet = SchemaFileDecoder(sink: sink).decode(text, defaultName: name) {
                if let other = worksheetFiles[worksheet.name] {
                    sink.error("worksheet '\(worksheet.name)' is already defined in \(other); each worksheet has one file", at: nil)
                } else {
                    worksheets[worksheet.name] = worksheet
                    worksheetFiles[worksheet.name] = display
                }
            }
            diagnostics += sink.diagnostics
        }

        // jobs/*.yml
        var context = jobContext(worksheets: worksheets, settings: settings, secrets: secrets, environment: environment,
                                 checkCondition: checkCondition)
        context.brokenWorksheets = brokenWorksheets.filter { worksheets[$0.key] == nil }
        var jobs: [JobDefinition] = []
        for (url, display) in yamlFiles(in: directory.appendingPathComponent("jobs"), folder: "jobs") {
            guard let text = readText(url, display: display, into: &diagnostics) else { continue }
            let sink = DiagnosticSink(file: display)
            let name = url.deletingPathExtension().lastPathComponent
            if !isValidJobName(name) {
                sink.error("job name '\(name)' (from the file name) may only use letters, digits, '-' and '_'; rename the file", at: nil)
            }
            if let job = JobFileDecoder(sink: sink, context: context).decode(text, name: name), !sink.hasErrors {
                jobs.append(job)
            }
            diagnostics += sink.diagnostics
        }

        return Project(directory: directory, settings: settings,
                       worksheets: worksheets.values.sorted { $0.name < $1.name },
                       jobs: jobs.sorted { $0.name < $1.name },
                       diagnostics: diagnostics.sorted(), secrets: secrets, environment: environment)
    }

    /// What job files are checked against: the worksheets, the environment, the secrets.
    static func jobContext(worksheets: [String: WorksheetDefinition], settings: ProjectSettings, secrets: SecretStore,
                           environment: [String: String], checkCondition: ConditionChecker?) -> JobFileDecoder.Context {
        JobFileDecoder.Context(
            worksheets: worksheets,
            hasEnv: { environment[$0] != nil || settings.env[$0] != nil },
            hasSecret: { secrets.has($0) },
            secretsFileName: settings.secretsFile,
            conditionProblem: checkCondition,
            unsetProxySecrets: settings.proxy.map { proxy in
                ([proxy.url] + [proxy.username, proxy.password].compactMap { $0 }).flatMap(\.references)
                    .filter { $0.source == .secret && !secrets.has($0.name) }.map(\.name)
            } ?? [])
    }

    /// The `worksheet:` a schema file names at its top level, read from the text (the file
    /// may not parse as a whole).
    static func declaredWorksheetName(in text: String) -> String? {
        for line in text.split(separator: "\n") where line.hasPrefix("worksheet:") {
            let value = line.dropFirst("worksheet:".count).trimmingCharacters(in: .whitespaces)
                .trimmingCharacters(in: CharacterSet(charactersIn: "\"'"))
            return value.isEmpty ? nil : value
        }
        return nil
    }

    static func isValidJobName(_ name: String) -> Bool {
        !name.isEmpty && name.unicodeScalars.allSatisfy {
            ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "-" || $0 == "_"
        }
    }

    /// `*.yml` and `*.yaml` files of a folder, sorted, with their display names.
    static func yamlFiles(in folder: URL, folder display: String) -> [(URL, String)] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder.path) else { return [] }
        return names.filter { ($0.hasSuffix(".yml") || $0.hasSuffix(".yaml")) && !$0.hasPrefix(".") }
            .sorted()
            .map { (folder.appendingPathComponent($0), "\(display)/\($0)") }
    }

    static func readText(_ url: URL, display: String, into diagnostics: inout [Diagnostic]) -> String? {
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        guard let data = FileManager.default.contents(atPath: url.path) else {
            diagnostics.append(Diagnostic(file: display, line: 1, column: 1, message: "cannot read the file; check its permissions"))
            return nil
        }
        guard let text = String(data: data, encoding: .utf8) else {
            diagnostics.append(Diagnostic(file: display, line: 1, column: 1, message: "the file is not valid UTF-8 text"))
            return nil
        }
        return text
    }
}
