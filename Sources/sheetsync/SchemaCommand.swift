import ArgumentParser
import Foundation
import SheetSyncFiles

/// `sheetsync schema [job|worksheet|settings]`: the JSON Schemas editors use to complete and
/// check the project's YAML files.
struct SchemaCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schema",
        abstract: "Print the JSON Schema of job, worksheet or settings files, for editors.",
        discussion: paragraphs("""
            The schemas list every key the loader accepts, with its type: an editor with the YAML \
            language server completes and checks them. Put this line first in a file to use one:

              # yaml-language-server: $schema=../.sheetsync/job.schema.json

            'sheetsync init' writes the three files to .sheetsync/ and puts that line in its files; \
            --write DIR writes them elsewhere. 'sheetsync validate' still checks what a schema cannot \
            (paths, templates, references).
            """))

    enum Kind: String, ExpressibleByArgument, CaseIterable {
        case job, worksheet, settings
        var file: ConfigSchema.File { ConfigSchema.File(rawValue: rawValue)! }
    }

    @Argument(help: "Which file's schema: job (jobs/*.yml), worksheet (schema/*.yml) or settings (sheetsync.yml).")
    var kind: Kind = .job

    @Option(help: ArgumentHelp("Write all three schemas into this directory (job.schema.json, worksheet.schema.json, settings.schema.json) instead of printing one.", valueName: "dir"))
    var write: String?

    func run() async throws {
        guard let write else {
            Output.out(ConfigSchema.text(kind.file), terminator: "")
            return
        }
        let directory = URL(fileURLWithPath: write, isDirectory: true)
        do {
            try Self.writeAll(to: directory)
        } catch {
            Output.err("error: cannot write the schemas to \(directory.path): \(error.localizedDescription)")
            throw ExitCode.failure
        }
        Output.err("wrote \(ConfigSchema.File.allCases.map(\.fileName).joined(separator: ", ")) to \(directory.path)")
    }

    static func writeAll(to directory: URL) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for file in ConfigSchema.File.allCases {
            try ConfigSchema.text(file).write(to: directory.appendingPathComponent(file.fileName), atomically: true, encoding: .utf8)
        }
    }
}
