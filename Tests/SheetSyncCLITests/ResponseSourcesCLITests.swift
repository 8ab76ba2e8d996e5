import Foundation
import Testing

/// Issue 16, items 5-7, through the real binary against `Fixtures/lookup_api.py`: fields
/// from run values and constants, from the response's status and headers (a HEAD, a 204),
/// and errors an API reports inside a 200.
struct ResponseSourcesCLITests {
    static let lookups = "key: [ip]\nfields:\n  ip: text\n  city: text\n  source: text\n  region: text\n  attempt: integer\n"

    /// The reference use case: look up an IP and store the answer under that IP.
    @Test func fieldsComeFromParamsEnvAndConstants() throws {
        let (api, url) = try startFixture("lookup_api.py", [])
        defer { api.stop() }
        let project = try ProjectDirectory(files: [
            "schema/lookups.yml": Self.lookups,
            "jobs/lookup.yml": """
                kind: pull
                worksheet: lookups
                request:
                  url: "{{env.API}}/ip"
                  query: { ip: "{{param.ip}}" }
                records: $.result
                fields:
                  ip: "{{param.ip}}"
                  city: $.city
                  source: { value: ipapi }
                  region: "eu-{{env.REGION}}"
                  attempt: { value: 1 }
                """,
        ])
        let path = project.url.path
        let environment = ["API": url, "REGION": "west"]
        let run = try CLI.run(["run", "lookup", "--param", "ip=203.0.113.9", "--project", path], environment: environment)
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        let row = try queryValue("SELECT ip || '|' || city || '|' || source || '|' || region || '|' || typeof(attempt) FROM lookups", project: path)
        #expect(row == "203.0.113.9|Berlin|ipapi|eu-west|integer")

        // The same in `test`, which shows the row it would write.
        let test = try CLI.run(["test", "lookup", "--param", "ip=198.51.100.7", "--project", path], environment: environment)
        #expect(test.status == 0, "\(test.stdout)\(test.stderr)")
        #expect(test.stdout.contains("198.51.100.7") && test.stdout.contains("ipapi"), "\(test.stdout)")
    }

    /// Secrets never fill a field; a bare word is a likely typo, not a constant.
    @Test func validateRefusesSecretsAndBareWordsAsFieldSources() throws {
        let project = try ProjectDirectory(files: [
            "schema/lookups.yml": Self.lookups,
            "jobs/lookup.yml": """
                kind: pull
                worksheet: lookups
                request: { url: "http://127.0.0.1:9/ip" }
                records: $.result
                fields:
                  ip: "{{param.ip}}"
                  city: "{{secret.API_KEY}}"
                  source: ipapi
                  region: "{{page.number}}"
                  attempt: $response.body
                """,
        ])
        var result = try CLI.run(["validate", "--project", project.url.path])
        result.stderr += result.stdout
        #expect(result.status != 0)
        #expect(result.stderr.contains("jobs/lookup.yml:7:"), "\(result.stderr)")
        #expect(result.stderr.contains("a secret is never written into a worksheet"), "\(result.stderr)")
        #expect(result.stderr.contains("'ipapi' is not a field source") && result.stderr.contains("{value: ipapi}"), "\(result.stderr)")
        #expect(result.stderr.contains("'{{page.number}}' cannot fill a field"), "\(result.stderr)")
        #expect(result.stderr.contains("use '$response.status' or '$response.headers.NAME'"), "\(result.stderr)")
    }

    /// A HEAD request: one row from the status and headers (names in any case).
    @Test func aHeadJobStoresTheStatusAndHeaders() throws {
        let (api, url) = try startFixture("lookup_api.py", [])
        defer { api.stop() }
        let project = try ProjectDirectory(files: [
            "schema/files.yml": "key: [name]\nfields:\n  name: text\n  status: integer\n  etag: text\n  rows: integer\n  size: integer\n  missing: text\n",
            "jobs/files.yml": """
                kind: pull
                worksheet: files
                request: { method: HEAD, url: "{{env.API}}/files/report.csv" }
                fields:
                  name: { value: report.csv }
                  status: $response.status
                  etag: $response.headers.ETag
                  rows: $response.headers.X-Row-Count
                  size: $response.headers.content-length
                  missing: $response.headers.x-not-sent
                """,
        ])
        let path = project.url.path
        let run = try CLI.run(["run", "files", "--project", path], environment: ["API": url])
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        let row = try queryValue("SELECT name || '|' || status || '|' || etag || '|' || rows || '|' || size || '|' || coalesce(missing, 'NULL') FROM files", project: path)
        #expect(row == #"report.csv|200|"v7"|42|1234|NULL"#)
        #expect(try queryValue("SELECT count(*) FROM files", project: path) == "1")
        // `test` shows the headers, says there is no body, and the row it makes.
        let test = try CLI.run(["test", "files", "--project", path], environment: ["API": url])
        #expect(test.status == 0, "\(test.stdout)\(test.stderr)")
        #expect(test.stdout.contains("(no body)") && test.stdout.contains("Get Multiple Data gives 1 row") && test.stdout.contains("report.csv"), "\(test.stdout)")

        // A HEAD job that reads the (absent) body is refused with what to map instead.
        try """
            kind: pull
            worksheet: files
            request: { method: HEAD, url: "{{env.API}}/files/report.csv" }
            fields: { name: $.name }
            """.write(to: project.url.appendingPathComponent("jobs/files.yml"), atomically: true, encoding: .utf8)
        var refused = try CLI.run(["validate", "--project", path], environment: ["API": url])
        refused.stderr += refused.stdout
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("a HEAD response has no body"), "\(refused.stderr)")
    }

    /// A 204 is no records for a job that reads the body, and one row for a job that reads
    /// the response's status.
    @Test func aNoContentAnswerIsNoRowsOrOneRowOfMetadata() throws {
        let (api, url) = try startFixture("lookup_api.py", [])
        defer { api.stop() }
        let project = try ProjectDirectory(files: [
            "schema/lookups.yml": Self.lookups,
            "schema/checks.yml": "key: [name]\nfields:\n  name: text\n  status: integer\n",
            "jobs/lookup.yml": """
                kind: pull
                worksheet: lookups
                request: { url: "{{env.API}}/empty" }
                records: $.data
                fields: { ip: $.ip }
                """,
            "jobs/check.yml": """
                kind: pull
                worksheet: checks
                request: { url: "{{env.API}}/empty" }
                fields: { name: { value: empty }, status: $response.status }
                """,
        ])
        let path = project.url.path
        let none = try CLI.run(["run", "lookup", "--project", path], environment: ["API": url])
        #expect(none.status == 0, "\(none.stdout)\(none.stderr)")
        #expect(try queryValue("SELECT count(*) FROM lookups", project: path) == "0")
        let one = try CLI.run(["run", "check", "--project", path], environment: ["API": url])
        #expect(one.status == 0, "\(one.stdout)\(one.stderr)")
        #expect(try queryValue("SELECT name || '|' || status FROM checks", project: path) == "empty|204")
    }

    /// `{"error_code": 10001, "reason": "KEY error", "result": null}` with a 200 fails the run
    /// like an HTTP failure: the server's code and message in the history, `test` showing
    /// the response, `on_failure: continue` making it partial, `retry: true` retrying.
    @Test func anErrorInsideA200FailsTheRun() throws {
        let (api, url) = try startFixture("lookup_api.py", [])
        defer { api.stop() }
        func job(onFailure: String = "terminate", retry: Bool = false) -> String { """
            kind: pull
            worksheet: lookups
            request:
              url: "{{env.API}}/ip"
              query: { ip: "{{param.ip}}" }
              on_failure: \(onFailure)
              retry: { attempts: 3, delay: 10ms }
              error:
                when: "$.error_code != 0"
                code: $.error_code
                message: $.reason
                \(retry ? "retry: true" : "")
            records: $.result
            fields: { ip: "{{param.ip}}", city: $.city }
            """
        }
        let project = try ProjectDirectory(files: ["schema/lookups.yml": Self.lookups, "jobs/lookup.yml": job()])
        let path = project.url.path
        let environment = ["API": url]

        let failed = try CLI.run(["run", "lookup", "--param", "ip=bad", "--project", path], environment: environment)
        #expect(failed.status != 0, "\(failed.stdout)")
        #expect(failed.stderr.contains("[10001] KEY error"), "\(failed.stderr)")
        // The server's own code is the run's error code, as for an HTTP failure with 'error.code'.
        let history = try CLI.run(["history", "lookup", "--json", "--project", path], environment: environment)
        #expect(history.stdout.contains(#""status":"failed""#) && history.stdout.contains(#""error_code":"10001""#), "\(history.stdout)")
        #expect(history.stdout.contains("KEY error"), "\(history.stdout)")
        // Not retried by default: sending the same bad request again does not fix it.
        #expect(try requestCount(url, query: "?path=%2Fip%3Fip%3Dbad") == 1)

        // A good answer still passes the rule (error_code 0), and a missing member is no error.
        let good = try CLI.run(["run", "lookup", "--param", "ip=192.0.2.1", "--project", path], environment: environment)
        #expect(good.status == 0, "\(good.stdout)\(good.stderr)")

        // `test` shows the response that failed.
        let test = try CLI.run(["test", "lookup", "--param", "ip=bad", "--project", path], environment: environment)
        #expect(test.status != 0)
        #expect(test.stdout.contains("\"reason\": \"KEY error\"") || test.stdout.contains(#""reason":"KEY error""#), "\(test.stdout)")

        // on_failure: continue → partial, not failed.
        try job(onFailure: "continue").write(to: project.url.appendingPathComponent("jobs/lookup.yml"), atomically: true, encoding: .utf8)
        let partial = try CLI.run(["run", "lookup", "--param", "ip=bad", "--project", path], environment: environment)
        let runs = try CLI.run(["history", "lookup", "--json", "--project", path], environment: environment)
        #expect(runs.stdout.contains(#""status":"partial""#), "\(partial.stdout)\(partial.stderr)\(runs.stdout)")

        // retry: true → sent again, and the second answer is a success.
        try job(retry: true).write(to: project.url.appendingPathComponent("jobs/lookup.yml"), atomically: true, encoding: .utf8)
        let retried = try CLI.run(["run", "lookup", "--param", "ip=flaky", "--project", path], environment: environment)
        #expect(retried.status == 0, "\(retried.stdout)\(retried.stderr)")
        #expect(try queryValue("SELECT city FROM lookups WHERE ip = 'flaky'", project: path) == "Berlin")
    }
}
