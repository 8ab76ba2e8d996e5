import Foundation
import Testing
@testable import SheetSyncCore
@testable import SheetSyncFiles

/// YAML aliases are limited before a file is composed (issue 12): a few hundred bytes
/// of nested anchors would otherwise expand to 9^9 nodes on every load.
struct AliasBombTests {
    /// Nine levels of nine aliases each: 9^9 leaves from 324 bytes.
    static let bomb: String = {
        var lines = [#"a: &a ["x","x","x","x","x","x","x","x","x"]"#]
        let names = Array("abcdefghi").map(String.init)
        for (previous, name) in zip(names, names.dropFirst()) {
            lines.append("\(name): &\(name) [" + Array(repeating: "*\(previous)", count: 9).joined(separator: ",") + "]")
        }
        return lines.joined(separator: "\n") + "\n"
    }()

    /// Line 6 is `f: &f [*e,…]`; its first `*e` (66,430 nodes) takes the running
    /// total from 74,740 past 100,000.
    static let refusal = "6:8: error: alias '*e' would expand this file past 100,000 YAML nodes, the limit; YAML aliases in job, schema and settings files must stay small, so write the repeated values out or nest fewer aliases"

    @Test(arguments: ["jobs/bomb.yml", "schema/bomb.yml", "sheetsync.yml", "secrets.yml"])
    func theNineLevelBombIsRefusedAtTheAliasThatCrossesTheLimit(path: String) throws {
        var files = TestProject.baseFiles
        files[path] = Self.bomb
        if path == "secrets.yml" {
            files["sheetsync.yml"] = "secrets_file: secrets.yml\nenv:\n  SHOP_URL: http://127.0.0.1:9\n"
        }
        let project = try TestProject(files: files)
        if path == "secrets.yml" {
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: project.directory.appendingPathComponent(path).path)
        }
        let loaded = ProjectLoader.load(directory: project.directory, environment: [:])
        #expect(loaded.errors.map(\.description) == ["\(path):\(Self.refusal)"])
    }

    @Test func tooManyAliasesAreRefusedAtTheFirstOneOverTheLimit() {
        // 1,001 aliases of one scalar: small in nodes, but past the alias count.
        let text = "a: &a x\nb: [" + Array(repeating: "*a", count: 1_001).joined(separator: ", ") + "]\n"
        let overrun = YAMLAliasBudget.firstOverrun(in: text)
        #expect(overrun?.line == 2)
        #expect(overrun?.column == 5 + 4 * 1_000)
        #expect(overrun?.message == "this file uses more than 1,000 YAML aliases, the limit; YAML aliases in job, schema and settings files must stay small, so write the repeated values out")
        #expect(YAMLAliasBudget.firstOverrun(in: "a: &a x\nb: [" + Array(repeating: "*a", count: 1_000).joined(separator: ", ") + "]\n") == nil)
    }

    @Test func aliasesCountAtTheSizeOfWhatTheyName() {
        // a is a mapping of 5 nodes, b holds 100 of it (501 nodes), c names b 199 times.
        func text(_ count: Int) -> String {
            "a: &a {k: v, l: w}\nb: &b [" + Array(repeating: "*a", count: 100).joined(separator: ",") + "]\n"
                + "c: [" + Array(repeating: "*b", count: count).joined(separator: ",") + "]\n"
        }
        // 11 nodes before c's aliases (root, keys, a, b's sequence and c's) and 500 in b:
        // 198 times *b reach 99,709 nodes, the 199th 100,210, past the limit.
        #expect(YAMLAliasBudget.firstOverrun(in: text(198)) == nil)
        let overrun = YAMLAliasBudget.firstOverrun(in: text(199))
        #expect(overrun?.line == 3)
        #expect(overrun?.column == 5 + 3 * 198)
        #expect(overrun?.message.hasPrefix("alias '*b' would expand this file past 100,000 YAML nodes") == true)
    }

    @Test func aFileWithAFewAliasesStillLoads() throws {
        var files = TestProject.baseFiles
        files["jobs/orders.yml"] = """
            kind: pull
            worksheet: orders
            steps:
              - name: session
                request:
                  url: "{{env.SHOP_URL}}/v1/session"
                  headers: &auth { Authorization: "Bearer {{secret.SHOP_TOKEN}}", Accept: application/json }
                  timeout: &timeout 7s
                values: { id: "$.id" }
            request:
              url: "{{env.SHOP_URL}}/v1/orders"
              headers: *auth
              timeout: *timeout
            records: "$.data"
            fields: { id: "$.id", status: "$.status" }
            """
        files["schema/orders.yml"] = """
            worksheet: orders
            key: [id]
            fields:
              id: &text text
              status: *text
              total: decimal
              updated_at: datetime
            """
        let project = try TestProject(files: files)
        let loaded = ProjectLoader.load(directory: project.directory, environment: ["SHOP_TOKEN": "t"])
        #expect(loaded.diagnostics.isEmpty, "\(loaded.diagnostics.map(\.description))")
        let job = try #require(loaded.job(named: "orders"))
        guard case .pull(let pull) = job.kind else { Issue.record("not a pull job"); return }
        #expect(pull.request.headers.map(\.name) == ["Authorization", "Accept"])
        #expect(pull.steps.first?.request.headers.map(\.name) == ["Authorization", "Accept"])
        #expect(pull.request.timeout == .seconds(7))
        #expect(loaded.worksheet(named: "orders")?.field(named: "status")?.type == .text)
    }
}
