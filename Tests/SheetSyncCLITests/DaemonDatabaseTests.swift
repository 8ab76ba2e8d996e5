import Foundation
import Testing

/// Issue 15, item 10: the daemon and its database file: a lock keyed on the file (not the
/// path text), a lock file whose pid is checked by trying the lock, and a database removed
/// under a running daemon.
struct DaemonDatabaseTests {
    func project() throws -> ProjectDirectory {
        try ProjectDirectory(files: ProjectDirectory.orders)
    }

    @Test func aSecondDaemonThroughASymlinkRefuses() throws {
        let project = try project()
        let path = project.url.path
        #expect(try CLI.run(["migrate", "--project", path]).status == 0)
        let link = project.url.appendingPathComponent("link.db").path
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: path + "/sheetsync.db")
        let first = try ChildProcess(["serve", "--http", "off", "--project", path])
        defer { first.stop() }
        #expect(try eventually(within: 60) { first.stderr.contains("serving") }, "\(first.stderr)")

        let second = try ChildProcess(["serve", "--http", "off", "--db", link, "--project", path])
        defer { second.stop() }
        #expect(second.waitForExit(seconds: 60), "a second daemon started through the symlink")
        #expect(second.exitStatus == 1)
        #expect(second.stderr.contains("another 'sheetsync serve' (pid \(first.pid))"), "\(second.stderr)")
        first.signal(SIGTERM)
        #expect(first.waitForExit(seconds: 30))
    }

    @Test(arguments: ["own-pid", "garbage", "0", "-1"])
    func statusDoesNotTrustAStaleLockFile(content: String) throws {
        let project = try project()
        let path = project.url.path
        #expect(try CLI.run(["migrate", "--project", path]).status == 0)
        // A live pid that holds no lock (this test process), or text that is no pid at all.
        let text = content == "own-pid" ? "\(getpid())\n" : content + "\n"
        try text.write(toFile: path + "/sheetsync.db.lock", atomically: true, encoding: .utf8)
        let status = try CLI.run(["status", "--project", path])
        #expect(status.status == 0, "\(status.stderr)")
        #expect(status.stderr.contains("no daemon is running"), "\(status.stderr)")
    }

    @Test func statusNamesTheDaemonThatHoldsTheLock() throws {
        let project = try project()
        let path = project.url.path
        let serve = try ChildProcess(["serve", "--http", "off", "--project", path])
        defer { serve.stop() }
        #expect(try eventually(within: 60) { serve.stderr.contains("serving") }, "\(serve.stderr)")
        let status = try CLI.run(["status", "--project", path])
        #expect(status.stderr.contains("a daemon (pid \(serve.pid)) is running"), "\(status.stderr)")
        serve.signal(SIGTERM)
        #expect(serve.waitForExit(seconds: 30))
    }

    @Test func aDatabaseRemovedUnderTheDaemonStopsItWithAClearError() throws {
        let (api, url) = try startFixture("slow_pages.py", ["1", "0"])
        defer { api.stop() }
        let project = try slowPagesProject(schedule: "@every 1s")
        let path = project.url.path
        let database = path + "/sheetsync.db"
        let serve = try ChildProcess(["serve", "--http", "off", "--project", path], environment: ["API": url])
        defer { serve.stop() }
        let ran = try eventually(within: 60) {
            // A number above 0: a query that fails (no database file yet) prints no number.
            (Int(try queryValue("SELECT count(*) FROM _sheetsync_runs WHERE status = 'succeeded'", project: path)) ?? 0) > 0
        }
        try #require(ran, "no run succeeded: \(serve.stderr.suffix(2000))")
        try FileManager.default.removeItem(atPath: database)  // a failure here must show, not pass as a daemon bug
        for suffix in ["-wal", "-shm"] { try? FileManager.default.removeItem(atPath: database + suffix) }
        #expect(serve.waitForExit(seconds: 30), "the daemon kept running on a removed database: \(serve.stderr.suffix(1500))")
        #expect(serve.exitStatus == 1, "\(serve.stderr.suffix(2000))")
        #expect(serve.stderr.contains("was removed or replaced"), "\(serve.stderr.suffix(2000))")
        // Nothing recreated the file behind the user's back.
        #expect(!FileManager.default.fileExists(atPath: database))
    }
}
