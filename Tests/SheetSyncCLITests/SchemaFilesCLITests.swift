import Foundation
import Testing
import SheetSyncTesting

/// Issue 18: JSON Schemas for editors, shipped in `schemas/`, printed by `sheetsync schema`,
/// written by `init` with the `yaml-language-server` line, and checked with an independent
/// validator (Python's `jsonschema`) against every example file of the repository.
struct SchemaFilesCLITests {
    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/check_schema.py")

    /// "ok PATH" or "invalid PATH: …" per file.
    func check(_ schema: URL, _ files: [URL]) throws -> [String] {
        let result = try CLI.run(["python3", Self.fixture.path, schema.path] + files.map(\.path), executable: URL(fileURLWithPath: "/usr/bin/env"))
        #expect(result.status == 0, "\(result.stderr)")
        return result.stdout.split(separator: "\n").map(String.init)
    }

    func yamlFiles(in folder: URL) throws -> [URL] {
        try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".yml") }.sorted().map { folder.appendingPathComponent($0) }
    }

    @Test func theShippedSchemasAreWhatTheCommandPrints() throws {
        for kind in ["job", "worksheet", "settings"] {
            let printed = try CLI.run(["schema", kind])
            #expect(printed.status == 0)
            let shipped = try String(contentsOf: DemoAndRunTests.root.appendingPathComponent("schemas/\(kind).schema.json"), encoding: .utf8)
            #expect(printed.stdout == shipped, "schemas/\(kind).schema.json differs from 'sheetsync schema \(kind)': run 'sheetsync schema --write schemas'")
        }
    }

    @Test func everyExampleValidatesAndMistakesDoNot() throws {
        let root = DemoAndRunTests.root
        let schemas = root.appendingPathComponent("schemas")
        let jobs = try yamlFiles(in: root.appendingPathComponent("jobs"))
        let worksheets = try yamlFiles(in: root.appendingPathComponent("schema"))
        #expect(jobs.count >= 6 && worksheets.count >= 4)
        for line in try check(schemas.appendingPathComponent("job.schema.json"), jobs)
            + check(schemas.appendingPathComponent("worksheet.schema.json"), worksheets)
            + check(schemas.appendingPathComponent("settings.schema.json"), [root.appendingPathComponent("sheetsync.yml")]) {
            #expect(line.hasPrefix("ok "), "\(line)")
        }
        // Mistakes the loader refuses are refused by the schema too, naming the key.
        let mistakes = try ProjectDirectory(files: [
            "typo.yml": "kind: pull\nworksheet: a\nrequest: { url: 'http://x', methd: GET }\n",
            "kinds.yml": "kind: push\nworksheet: a\nrequest: { url: 'http://x' }\npaginate: { style: page }\n",
            "style.yml": "kind: pull\nworksheet: a\nrequest: { url: 'http://x' }\npaginate: { style: pages }\n",
            "sheet.yml": "key: [id]\nfields:\n  id: txt\n",
        ])
        let results = try check(schemas.appendingPathComponent("job.schema.json"), ["typo.yml", "kinds.yml", "style.yml"].map { mistakes.url.appendingPathComponent($0) })
            + check(schemas.appendingPathComponent("worksheet.schema.json"), [mistakes.url.appendingPathComponent("sheet.yml")])
        #expect(results.count == 4)
        #expect(results.allSatisfy { $0.hasPrefix("invalid ") }, "\(results)")
        #expect(results[0].contains("'methd' was unexpected"), "\(results[0])")
        #expect(results[1].contains("'paginate' is not one of"), "\(results[1])")
    }

    @Test func initWritesTheSchemasItsFilesName() throws {
        let parent = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: parent) }
        let directory = parent.appendingPathComponent("p")
        #expect(try CLI.run(["init", directory.path]).status == 0)
        let files = [("sheetsync.yml", ".sheetsync/settings.schema.json"), ("schema/customers.yml", "../.sheetsync/worksheet.schema.json"),
                     ("jobs/customers.yml", "../.sheetsync/job.schema.json")]
        for (file, schema) in files {
            let url = directory.appendingPathComponent(file)
            let first = try String(contentsOf: url, encoding: .utf8).split(separator: "\n").first ?? ""
            #expect(first == "# yaml-language-server: $schema=\(schema)", "\(file): \(first)")
            let resolved = url.deletingLastPathComponent().appendingPathComponent(schema).standardizedFileURL
            #expect(try check(resolved, [url]) == ["ok \(url.path)"])
        }
    }
}
