import Foundation
import Testing
import SheetSyncTesting

/// Issue 18: `notify:` posts a JSON message (Slack-compatible `text`) when a job fails,
/// keeps failing (every `repeat_after` failures in a row), or recovers; a message that
/// fails is retried under the same `webhook-id`; the webhook's secret never shows.
struct NotifyCLITests {
    func received(_ url: String) throws -> [(path: String, id: String, status: Int, body: String)] {
        try PushCLITests().received(url).filter { $0.path == "/hooks/notify" }
    }

    @Test func failuresRepeatsAndRecoveryAreNotifiedAndRetried() throws {
        let api = try ProjectDirectory(files: ["items.json": #"{"data": [{"id": "a"}, {"id": "b"}]}"#])
        let (server, apiURL) = try startFixture("file_api.py", [api.url.path])
        defer { server.stop() }
        let (hook, hookURL, _) = try startDemoShop()
        defer { hook.terminate(); hook.waitUntilExit() }
        let (flaky, flakyURL, _) = try startDemoShop(["--fail-rate", "1"])  // each message fails 3 times, then arrives
        defer { flaky.terminate(); flaky.waitUntilExit() }

        let project = try ProjectDirectory(files: [
            "schema/items.yml": "key: [id]\nfields:\n  id: text\n",
            "jobs/items.yml": "kind: pull\nworksheet: items\nrequest: { url: '{{env.API}}/items', retry: { attempts: 1 } }\nrecords: $.data\n",
            "jobs/quiet.yml": "kind: pull\nworksheet: items\nnotify: false\nrequest: { url: '{{env.API}}/items', retry: { attempts: 1 } }\nrecords: $.data\n",
            "sheetsync.yml": "notify: { url: \"{{env.HOOK}}/hooks/notify?key={{secret.HOOK_KEY}}\", repeat_after: 2, backoff: [0s] }\n",
        ])
        let path = project.url.path
        let secret = "hook-secret-7731"
        func run(_ job: String, api: String, hook: String) throws -> CLIResult {
            try CLI.run(["run", job, "--project", path], environment: ["API": api, "HOOK": hook, "HOOK_KEY": secret])
        }
        let down = "http://127.0.0.1:9"
        var outputs: [String] = []
        for _ in 1...3 {
            let failed = try run("items", api: down, hook: hookURL)
            #expect(failed.status == 1)
            outputs.append(failed.stdout + failed.stderr)
        }
        #expect(try run("quiet", api: down, hook: hookURL).status == 1)  // notify: false
        let fixed = try run("items", api: apiURL, hook: hookURL)
        #expect(fixed.status == 0, "\(fixed.stderr)")
        outputs.append(fixed.stdout + fixed.stderr)

        let messages = try received(hookURL)
        // Run 1 failed (failure), run 2 said nothing, run 3 failed again (3 in a row: still_failing
        // with repeat_after 2), the quiet job nothing, then the recovery.
        #expect(messages.count == 3, "\(messages.map(\.body))")
        let bodies = messages.map(\.body)
        #expect(bodies.first?.contains(#""event":"failure""#) == true, "\(bodies)")
        #expect(bodies.first?.contains("job 'items' failed (run 1): cannot connect to 127.0.0.1:9") == true, "\(bodies)")
        #expect(bodies.dropFirst().first?.contains("job 'items' is still failing, 3 runs in a row (run 3)") == true, "\(bodies)")
        #expect(bodies.last?.contains("job 'items' recovered (run 5 succeeded) after 3 failed runs") == true, "\(bodies)")
        #expect(bodies.last?.contains(#""event":"recovery""#) == true)
        #expect(bodies.allSatisfy { $0.contains(#""text":"sheetsync ("#) })
        #expect(Set(messages.map(\.id)).count == 3 && messages.allSatisfy { $0.id.hasPrefix("ntf_") })

        // A receiver that fails: the message waits in the ledger and goes again, same id.
        let again = try run("items", api: down, hook: flakyURL)
        #expect(again.status == 1)
        outputs.append(again.stdout + again.stderr)
        for _ in 1...3 { outputs.append(try run("quiet", api: apiURL, hook: flakyURL).stderr) }
        let tries = try received(flakyURL)
        #expect(tries.map(\.status) == [500, 500, 500, 200], "\(tries.map(\.status))")
        #expect(Set(tries.map(\.id)).count == 1, "retries under one webhook-id")
        let ledger = try CLI.run(["query", "SELECT event, state, attempts FROM _sheetsync_notifications ORDER BY id", "--format", "csv", "--project", path])
        #expect(ledger.stdout.replacingOccurrences(of: "\r\n", with: "\n")
                == "event,state,attempts\nfailure,delivered,1\nstill_failing,delivered,1\nrecovery,delivered,1\nfailure,delivered,4\n", "\(ledger.stdout)")

        // The webhook's secret is in no output and nowhere in the database.
        for output in outputs { #expect(!output.contains(secret)) }
        let dump = try ConcurrentUseTests.sqlite3(project.url.appendingPathComponent("sheetsync.db").path, ".dump")
        #expect(!dump.stdout.contains(secret))
    }
}
