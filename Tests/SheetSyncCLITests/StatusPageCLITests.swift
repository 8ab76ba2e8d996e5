import Foundation
import Testing
import SheetSyncTesting

/// Issue 18: a status page at `/` of `serve`, rendered in a real headless browser
/// (Debian's `chromium`, installed by scripts/test): it shows the jobs of the running
/// daemon, their last runs and the push job's deliveries, and an error a server sent with
/// HTML in it is shown as text, never run.
struct StatusPageCLITests {
    static func chromium(_ arguments: [String]) throws -> CLIResult {
        try CLI.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"] + arguments,
                    executable: URL(fileURLWithPath: "/usr/bin/env"))
    }

    @Test func theStatusPageRendersTheDaemonsJobsInABrowser() throws {
        let api = try ProjectDirectory(files: [
            "items.json": #"{"ok": true, "data": [{"id": "a"}, {"id": "b"}]}"#,
            "broken.json": #"{"ok": false, "msg": "<script>document.title='pwned'</script><b>bold</b>"}"#,
        ])
        let (server, url) = try startFixture("file_api.py", [api.url.path])
        defer { server.stop() }
        let project = try ProjectDirectory(files: [
            "schema/items.yml": "key: [id]\nfields:\n  id: text\n",
            "schema/notes.yml": "key: [id]\nfields:\n  id: text\n  note: text\n",
            "jobs/items.yml": "kind: pull\nworksheet: items\nschedule: '@hourly'\nrequest: { url: '{{env.API}}/items' }\nrecords: $.data\n",
            "jobs/broken.yml": """
                kind: pull
                worksheet: items
                schedule: '@hourly'
                request:
                  url: '{{env.API}}/broken'
                  retry: { attempts: 1 }
                  error: { when: "$.ok == false", message: $.msg }
                records: $.data
                """,
            "jobs/notes-out.yml": "kind: push\nworksheet: notes\nrequest: { url: 'http://127.0.0.1:9/notes/{{record.id}}' }\n",
        ])
        let path = project.url.path
        // One run of each pull job first (the page shows the last ones); the daemon runs
        // them hourly, so none is running while the page is read.
        #expect(try CLI.run(["run", "items", "--project", path], environment: ["API": url]).status == 0)
        #expect(try CLI.run(["run", "broken", "--project", path], environment: ["API": url]).status == 1)
        let (serve, lines) = try ServeTests().startServe(path, environment: ["API": url])
        defer { if serve.isRunning { serve.terminate(); serve.waitUntilExit() } }
        let base = try ServeTests().endpoint(lines)

        let dom = try Self.chromium(["--dump-dom", base + "/"])
        #expect(dom.status == 0, "\(dom.stderr.suffix(2000))")
        let page = dom.stdout
        #expect(page.contains("<title>sheetsync: 3 jobs</title>"), "\(page.prefix(2000))")
        for job in ["items", "broken", "notes-out"] { #expect(page.contains(#"<tr data-job="\#(job)">"#), "\(job) missing") }
        #expect(page.contains(#"<span class="status succeeded">succeeded</span>"#), "\(page)")
        #expect(page.contains(#"<span class="status failed">failed</span>"#), "\(page)")
        #expect(page.contains("2 inserted, 0 updated, 0 unchanged"), "\(page)")
        #expect(page.contains("<table id=\"deliveries\">") && page.contains(#"<tr data-job="notes-out"><td>notes-out</td>"#))
        #expect(page.contains("<table id=\"failures\">"))
        // The server's HTML is text on the page: no script ran (the title is ours), no <b> element.
        #expect(page.contains("&lt;script&gt;document.title='pwned'&lt;/script&gt;&lt;b&gt;bold&lt;/b&gt;"), "\(page)")
        #expect(!page.contains("<b>bold</b>") && !page.contains("pwned</title>"))

        let shot = project.url.appendingPathComponent("status.png")
        let screenshot = try Self.chromium(["--screenshot=\(shot.path)", "--window-size=1280,900", base + "/"])
        #expect(screenshot.status == 0, "\(screenshot.stderr.suffix(2000))")
        let png = (try? Data(contentsOf: shot)) ?? Data()
        #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]) && png.count > 10_000, "\(png.count) bytes")

        serve.terminate()
        serve.waitUntilExit()
    }
}
