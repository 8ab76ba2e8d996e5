import Foundation
import Testing
import SheetSyncTesting

/// Issue 18: `sheetsync init` starts a project a newcomer can validate, test and run
/// (against `sheetsync demo serve`, as its output says), and never overwrites one.
struct InitCLITests {
    @Test func initThenValidateTestAndRunOnAFreshDirectory() throws {
        let parent = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: parent) }
        let directory = parent.appendingPathComponent("shop/sync")  // created, parents too
        let created = try CLI.run(["init", directory.path])
        #expect(created.status == 0, "\(created.stderr)")
        #expect(created.stdout.contains("sheetsync run customers --project \(directory.path)"), "\(created.stdout)")
        let ignore = try String(contentsOf: directory.appendingPathComponent(".gitignore"), encoding: .utf8)
        #expect(ignore.contains("*.db\n") && ignore.contains(".secrets.yml"), "\(ignore)")

        // Without the token, validate passes with a warning naming the secret to set.
        let validate = try CLI.run(["validate", "--project", directory.path], environment: ["SHOP_TOKEN": ""])
        #expect(validate.status == 0, "\(validate.stdout)\(validate.stderr)")
        #expect((validate.stdout + validate.stderr).contains("ok: 1 worksheet, 1 job"), "\(validate.stdout)\(validate.stderr)")

        // The demo shop the output points at, on a free port.
        let (shop, url, token) = try startDemoShop()
        defer { shop.terminate(); shop.waitUntilExit() }
        let env = ["SHOP_URL": url, "SHOP_TOKEN": token]

        let test = try CLI.run(["test", "customers", "--project", directory.path], environment: env)
        #expect(test.status == 0, "\(test.stdout)\(test.stderr)")
        let run = try CLI.run(["run", "customers", "--project", directory.path], environment: env)
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        #expect(run.stdout.contains("50 inserted"), "\(run.stdout)")
        let query = try CLI.run(["query", "--project", directory.path, "--format", "csv", "SELECT count(*), count(email), count(created_at) FROM customers"])
        #expect(query.stdout.split(whereSeparator: \.isNewline).last == "50,50,50", "\(query.stdout)")
    }

    @Test func initRefusesAnExistingProjectAndKeepsItsFiles() throws {
        let project = try ProjectDirectory(files: ProjectDirectory.orders.merging(["sheetsync.yml": "env: { A: b }\n"]) { $1 })
        let path = project.url.path
        let refused = try CLI.run(["init", "--project", path])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("already has"), "\(refused.stderr)")
        #expect(refused.stderr.contains("never overwrites"), "\(refused.stderr)")
        #expect((try? String(contentsOf: project.url.appendingPathComponent("sheetsync.yml"), encoding: .utf8)) == "env: { A: b }\n")
        #expect(!FileManager.default.fileExists(atPath: project.url.appendingPathComponent("jobs/customers.yml").path))

        // A directory with only a .gitignore (a fresh git repository) is a place to start:
        // its lines are kept and sheetsync's are added once.
        let repository = try temporaryDirectory(files: [".gitignore": "build/\n*.db\n"])
        defer { try? FileManager.default.removeItem(at: repository) }
        #expect(try CLI.run(["init"], in: repository).status == 0)
        let ignore = try String(contentsOf: repository.appendingPathComponent(".gitignore"), encoding: .utf8)
        #expect(ignore.hasPrefix("build/\n*.db\n"), "\(ignore)")
        #expect(ignore.components(separatedBy: "*.db\n").count == 2, "\(ignore)")
        #expect(ignore.contains(".secrets.yml\n"))
    }

    /// Issue 18: `run` on a terminal shows pages, records and records/s on stderr, and
    /// nothing of it when stderr is not a terminal. `script` gives the run a terminal.
    @Test func runShowsProgressOnATerminalOnly() throws {
        let parent = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: parent) }
        let directory = parent.appendingPathComponent("p")
        #expect(try CLI.run(["init", directory.path]).status == 0)
        let jobFile = directory.appendingPathComponent("jobs/customers.yml")
        try String(contentsOf: jobFile, encoding: .utf8).replacingOccurrences(of: "size: 100", with: "size: 5")
            .write(to: jobFile, atomically: true, encoding: .utf8)
        let (shop, url, token) = try startDemoShop()
        defer { shop.terminate(); shop.waitUntilExit() }
        let env = ["SHOP_URL": url, "SHOP_TOKEN": token]

        let command = "'\(CLI.binary.path)' run customers --project '\(directory.path)'"
        let onTerminal = try CLI.run(["-qec", command, "/dev/null"], executable: URL(fileURLWithPath: "/usr/bin/script"), environment: env)
        #expect(onTerminal.status == 0, "\(onTerminal.stdout)\(onTerminal.stderr)")
        #expect(onTerminal.stdout.contains("\r\u{1B}[Kcustomers: "), "\(onTerminal.stdout.debugDescription)")
        #expect(onTerminal.stdout.contains(#/customers: \d+ pages?, \d+ records, \d+ records\/s/#), "\(onTerminal.stdout.debugDescription)")
        #expect(onTerminal.stdout.contains("succeeded"), "\(onTerminal.stdout)")

        let piped = try CLI.run(["run", "customers", "--project", directory.path], environment: env)
        #expect(piped.status == 0)
        #expect(!piped.stderr.contains("records/s") && !piped.stderr.contains("\u{1B}"), "\(piped.stderr.debugDescription)")
    }

    /// Issue 18: a per-record step without its own Authorization header got 401 on every
    /// call. It sends the job request's headers (same origin), unless `inherit_headers: false`.
    @Test func aPerRecordStepSendsTheJobsTokenThroughTheBinary() throws {
        let parent = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: parent) }
        let directory = parent.appendingPathComponent("p")
        #expect(try CLI.run(["init", directory.path]).status == 0)
        let jobFile = directory.appendingPathComponent("jobs/customers.yml")
        let job = try String(contentsOf: jobFile, encoding: .utf8)
            .replacingOccurrences(of: "  name: \"$.name\"\n", with: "")
            .replacingOccurrences(of: "request:\n  url: \"{{env.SHOP_URL}}/v1/customers\"", with: """
                steps:
                  - name: order
                    per_record: true
                    request: { url: "{{env.SHOP_URL}}/v1/orders/ord_00001", retry: { attempts: 1 } }
                    fields: { name: $.id }
                request:
                  url: "{{env.SHOP_URL}}/v1/customers"
                """)
        #expect(job.contains("per_record: true") && !job.contains("name: \"$.name\""), "\(job)")
        try job.write(to: jobFile, atomically: true, encoding: .utf8)
        let (shop, url, token) = try startDemoShop()
        defer { shop.terminate(); shop.waitUntilExit() }
        let env = ["SHOP_URL": url, "SHOP_TOKEN": token]

        let run = try CLI.run(["run", "customers", "--project", directory.path], environment: env)
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        let names = try CLI.run(["query", "--project", directory.path, "--format", "csv", "SELECT count(*) FROM customers WHERE name = 'ord_00001'"])
        #expect(names.stdout.split(whereSeparator: \.isNewline).last == "50", "\(names.stdout)")

        try job.replacingOccurrences(of: "    per_record: true\n", with: "    per_record: true\n    inherit_headers: false\n")
            .write(to: jobFile, atomically: true, encoding: .utf8)
        let without = try CLI.run(["run", "customers", "--project", directory.path], environment: env)
        #expect(without.status == 1, "\(without.stdout)\(without.stderr)")
        #expect(without.stderr.contains("HTTP 401"), "\(without.stderr)")
    }
}
