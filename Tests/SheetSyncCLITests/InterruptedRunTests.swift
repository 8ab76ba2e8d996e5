import Foundation
import Testing

/// Issue 15, item 3: a run whose process is gone (killed, crashed) is marked `interrupted`
/// by the next sheetsync process that opens the database, while a run of a live process
/// next to it stays `running`.
struct InterruptedRunTests {
    @Test func aKilledRunIsMarkedInterruptedAndALiveOneIsLeftRunning() throws {
        // Page 2 takes 120 s: the run is in flight for as long as the test needs.
        let (api, url) = try startFixture("slow_pages.py", ["5", "0", "2"])
        defer { api.stop() }
        let project = try slowPagesProject()
        let path = project.url.path
        let environment = ["API": url]

        let live = try ChildProcess(["run", "items", "--project", path], environment: environment)
        defer { live.stop() }
        let started = try eventually(within: 60) {
            try queryValue("SELECT count(*) FROM _sheetsync_runs WHERE status = 'running'", project: path) == "1"
                && requestCount(url) >= 2
        }
        try #require(started, "the run did not start: \(live.stderr)")

        // Another process opens the database (history, status): the live run is left alone.
        let history = try CLI.run(["history", "--json", "--project", path], environment: environment)
        #expect(history.status == 0, "\(history.stderr)")
        #expect(history.stdout.contains(#""status":"running""#), "\(history.stdout)")
        #expect(try CLI.run(["status", "--project", path], environment: environment).stdout.contains("running"))

        // Killed: the next process that opens the database notices, and says when.
        live.signal(SIGKILL)
        live.waitForExit(seconds: 10)
        let after = try CLI.run(["history", "--json", "--project", path], environment: environment)
        #expect(after.status == 0, "\(after.stderr)")
        #expect(!after.stdout.contains(#""status":"running""#), "\(after.stdout)")
        #expect(after.stdout.contains(#""status":"interrupted""#), "\(after.stdout)")
        #expect(after.stdout.contains(#""error_code":"interrupted""#), "\(after.stdout)")
        #expect(after.stdout.contains("pid \(live.pid)"), "the message names the process: \(after.stdout)")
        #expect(try queryValue("SELECT count(*) FROM _sheetsync_runs WHERE status = 'interrupted' AND ended_at IS NOT NULL", project: path) == "1")
        let table = try CLI.run(["status", "--project", path], environment: environment)
        #expect(table.stdout.contains("interrupted"), "\(table.stdout)")
    }
}
