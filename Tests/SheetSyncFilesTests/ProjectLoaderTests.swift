import Foundation
import Testing
@testable import SheetSyncCore
@testable import SheetSyncFiles

struct ProjectLoaderTests {
    /// The repository's own jobs/ and schema/ are real, working examples.
    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test func everyExampleFileValidates() throws {
        let project = ProjectLoader.load(directory: Self.repositoryRoot, environment: ["SHOP_TOKEN": "demo"])
        #expect(project.errors.map(\.description) == [])
        let schemaFiles = try FileManager.default.contentsOfDirectory(atPath: Self.repositoryRoot.appendingPathComponent("schema").path)
        let jobFiles = try FileManager.default.contentsOfDirectory(atPath: Self.repositoryRoot.appendingPathComponent("jobs").path)
        #expect(project.worksheets.count == schemaFiles.filter { $0.hasSuffix(".yml") }.count)
        #expect(project.jobs.count == jobFiles.filter { $0.hasSuffix(".yml") }.count)
        #expect(project.jobs.count >= 3)
    }

    @Test func decodesAPullJobWithDefaults() throws {
        var files = TestProject.baseFiles
        files["jobs/orders.yml"] = """
            kind: pull
            worksheet: orders
            request:
              url: "{{env.SHOP_URL}}/v1/orders"
              query: { since: "{{state.cursor}}" }
            records: $.data
            """
        let project = try TestProject(files: files)
        let loaded = ProjectLoader.load(directory: project.directory, environment: [:])
        #expect(loaded.errors.isEmpty)
        let job = try #require(loaded.job(named: "orders"))
        guard case .pull(let pull) = job.kind else { Issue.record("not a pull job"); return }
        #expect(pull.request.method == .GET)
        #expect(pull.request.timeout == .seconds(10))
        #expect(pull.request.successCodes == nil)
        #expect(pull.request.onFailure == .terminate)
        #expect(pull.request.retry.attempts == 3)
        #expect(pull.request.retry.on == [429, 502, 503, 504])
        #expect(pull.request.verifyTLS)
        #expect(!pull.request.proxy)
        // Without 'fields', every worksheet field maps from the member of the same name.
        #expect(pull.fields.map(\.field) == ["id", "status", "total", "updated_at"])
        #expect(pull.fields.map(\.path?.text) == ["$.id", "$.status", "$.total", "$.updated_at"])
        #expect(loaded.env("SHOP_URL") == "http://127.0.0.1:9")
    }

    @Test func decodesAPushJobWithTheReferenceProductsDefaults() throws {
        var files = TestProject.baseFiles
        files["jobs/push.yml"] = """
            kind: push
            worksheet: purchase_requests
            when: "status = 'approved'"
            request:
              url: "http://erp.invalid/hooks/{{record.id}}"
            """
        let project = try TestProject(files: files)
        let loaded = ProjectLoader.load(directory: project.directory, environment: [:])
        #expect(loaded.errors.isEmpty)
        guard case .push(let push) = try #require(loaded.job(named: "push")).kind else { Issue.record("not a push job"); return }
        #expect(push.request.method == .POST)
        #expect(push.request.successCodes == [200])
        #expect(push.request.body == .record)
        #expect(push.request.timeout == .seconds(10))
        #expect(push.delivery.attempts == 10)
        #expect(push.on == [.insert, .update])
    }

    @Test func decodesEveryBodyForm() throws {
        var files = TestProject.baseFiles
        func job(_ body: String) -> String {
            "kind: pull\nworksheet: orders\nrequest:\n  method: POST\n  url: http://x\n  body:\n" + body
        }
        files["jobs/json.yml"] = job("    json: { q: \"{{param.q}}\", n: 5, ok: true, list: [1, x] }\n")
        files["jobs/form.yml"] = job("    form: { a: \"1\", b: \"{{param.b}}\" }\n")
        files["jobs/multi.yml"] = job("    multipart:\n      note: hello\n      file: { file: data/report.csv, content_type: text/csv }\n")
        files["jobs/raw.yml"] = job("    raw: \"<x/>\"\n    content_type: application/xml\n")
        files["jobs/binary.yml"] = job("    binary: data/photo.png\n    content_type: image/png\n")
        let project = try TestProject(files: files)
        let loaded = ProjectLoader.load(directory: project.directory, environment: [:])
        #expect(loaded.errors.isEmpty)
        let bodies = Dictionary(uniqueKeysWithValues: loaded.jobs.map { ($0.name, $0.request.body) })
        guard case .json(.object(let members)) = bodies["json"] else { Issue.record("json body"); return }
        #expect(members.map(\.key) == ["q", "n", "ok", "list"])
        #expect(members[1].value == .number("5"))
        #expect(members[2].value == .bool(true))
        guard case .form(let fields) = bodies["form"] else { Issue.record("form body"); return }
        #expect(fields.map(\.name) == ["a", "b"])
        guard case .multipart(let parts) = bodies["multi"] else { Issue.record("multipart body"); return }
        #expect(parts.map(\.name) == ["note", "file"])
        #expect(bodies["raw"] == .raw(Template(literal: "<x/>"), contentType: "application/xml"))
        #expect(bodies["binary"] == .binary(path: Template(literal: "data/photo.png"), contentType: "image/png"))
    }

    @Test func secretsFileMustBePrivate() throws {
        var files = TestProject.baseFiles
        files["sheetsync.yml"] = "secrets_file: secrets.yml\nenv: { SHOP_URL: 'http://x' }\n"
        files["secrets.yml"] = "SHOP_TOKEN: s3cr3t-canary\n"
        let project = try TestProject(files: files)
        let secretsPath = project.directory.appendingPathComponent("secrets.yml").path
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: secretsPath)
        let open = ProjectLoader.load(directory: project.directory, environment: [:])
        #expect(open.errors.map(\.description) == [
            "secrets.yml:1:1: error: secrets file 'secrets.yml' is readable by other users (mode 644); run 'chmod 600 secrets.yml'",
        ])
        #expect(!open.secrets.has("SHOP_TOKEN"))

        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: secretsPath)
        let closed = ProjectLoader.load(directory: project.directory, environment: [:])
        #expect(closed.errors.isEmpty)
        #expect(closed.secrets.value("SHOP_TOKEN") == "s3cr3t-canary")
        // The environment wins over the file.
        let overridden = ProjectLoader.load(directory: project.directory, environment: ["SHOP_TOKEN": "from-env"])
        #expect(overridden.secrets.value("SHOP_TOKEN") == "from-env")
        // No diagnostic ever carries a secret value.
        #expect(!closed.diagnostics.contains { $0.message.contains("s3cr3t-canary") })
    }

    /// Issue 12: the mode checked is the target's; a symlink's own mode is always 777.
    @Test func aSymlinkedSecretsFileIsJudgedByItsTarget() throws {
        let vault = try TestProject(files: ["private.yml": "SHOP_TOKEN: s3cr3t-canary\n", "shared.yml": "SHOP_TOKEN: s3cr3t-canary\n"])
        let privateTarget = vault.directory.appendingPathComponent("private.yml")
        let sharedTarget = vault.directory.appendingPathComponent("shared.yml")
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: privateTarget.path)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: sharedTarget.path)
        var files = TestProject.baseFiles
        files["sheetsync.yml"] = "secrets_file: secrets.yml\nenv: { SHOP_URL: 'http://x' }\n"
        let project = try TestProject(files: files)
        let link = project.directory.appendingPathComponent("secrets.yml")

        try FileManager.default.createSymbolicLink(atPath: link.path, withDestinationPath: privateTarget.path)
        let closed = ProjectLoader.load(directory: project.directory, environment: [:])
        #expect(closed.errors.isEmpty, "\(closed.errors.map(\.description))")
        #expect(closed.secrets.value("SHOP_TOKEN") == "s3cr3t-canary")

        try FileManager.default.removeItem(at: link)
        try FileManager.default.createSymbolicLink(atPath: link.path, withDestinationPath: sharedTarget.path)
        let open = ProjectLoader.load(directory: project.directory, environment: [:])
        let target = sharedTarget.resolvingSymlinksInPath().path
        #expect(open.errors.map(\.description) == [
            "secrets.yml:1:1: error: secrets file 'secrets.yml' is a symlink to '\(target)', which is readable by other users (mode 644); run 'chmod 600 \(target)'",
        ])
        #expect(!open.secrets.has("SHOP_TOKEN"))
        #expect(!open.diagnostics.contains { $0.message.contains("s3cr3t-canary") })
    }

    @Test func unsetSecretIsAWarningNotAnError() throws {
        var files = TestProject.baseFiles
        files["jobs/a.yml"] = "kind: pull\nworksheet: orders\nrequest:\n  url: http://x\n  headers: { Authorization: \"Bearer {{secret.TOKEN}}\" }\n"
        let project = try TestProject(files: files)
        let loaded = ProjectLoader.load(directory: project.directory, environment: [:])
        #expect(loaded.errors.isEmpty)
        #expect(loaded.diagnostics.map(\.description) == [
            "jobs/a.yml:5:37: warning: secret 'TOKEN' is not set; export TOKEN=… before running this job",
        ])
        #expect(loaded.jobs.count == 1)
    }

    @Test func databasePathPrecedence() throws {
        var files = TestProject.baseFiles
        files["sheetsync.yml"] = "database: data/shop.db\n"
        let project = try TestProject(files: files)
        let loaded = ProjectLoader.load(directory: project.directory, environment: [:])
        #expect(loaded.databaseURL().path == project.directory.appendingPathComponent("data/shop.db").path)
        #expect(loaded.databaseURL(override: "/tmp/x.db").path == "/tmp/x.db")
        let fromEnvironment = ProjectLoader.load(directory: project.directory, environment: ["SHEETSYNC_DB": "/tmp/env.db"])
        #expect(fromEnvironment.databaseURL().path == "/tmp/env.db")
        #expect(fromEnvironment.databaseURL(override: "/tmp/x.db").path == "/tmp/x.db")
    }
}
