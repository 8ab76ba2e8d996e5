import Foundation
import Testing

/// Typed command-line values (Sources/sheetsync/Arguments.swift) and the shared
/// `JobOptions` group, through the real binary.
struct ArgumentsCLITests {
    /// A pull job whose request shows `{{param.status}}` in a header; the API is a closed
    /// port on loopback, so a request that is sent fails at once.
    static let files: [String: String] = ProjectDirectory.orders.merging([
        "jobs/orders.yml": """
            kind: pull
            worksheet: orders
            request:
              url: "http://127.0.0.1:9/orders"
              headers: { X-Status: "[{{param.status}}]" }
            records: $.data
            fields: { id: $.id, status: $.status }
            """,
    ]) { $1 }

    /// The same project with a broken sheetsync.yml: a command whose flags were all
    /// accepted stops when it loads the project (exit 1), before it serves or sends anything.
    static let brokenSettings: [String: String] = files.merging(["sheetsync.yml": "bogus_key: 1\n"]) { $1 }

    /// Runs the binary for at most 30 s (a flag wrongly accepted must not hang the suite).
    func run(_ arguments: [String], files: [String: String] = brokenSettings) throws -> CLIResult {
        let project = try ProjectDirectory(files: files)
        let (result, stopped) = try ServeAddressTests().runBounded(arguments + ["--project", project.url.path])
        #expect(!stopped, "still running: \(arguments)")
        return result
    }

    static let backfill = ["backfill", "orders", "--from", "2024-01-01", "--to", "2024-01-03"]

    @Test(arguments: [
        (["serve", "--grace", "abc"], "The value 'abc' is invalid for '--grace <duration>': invalid duration 'abc': expected a number at 'abc'; expected forms like '10s', '500ms', '5m', '1h30m'"),
        (["serve", "--grace", "5x"], "The value '5x' is invalid for '--grace <duration>': invalid duration '5x': unknown unit 'x'"),
        (["serve", "--grace", "200y"], "invalid duration '200y': unknown unit 'y'"),
        (["serve", "--grace", "99999999999d"], "invalid duration '99999999999d': longer than 100 years"),
        (["serve", "--grace", ""], "invalid duration '': empty duration"),
        (["serve", "--http", "127.0.0.1"], "The value '127.0.0.1' is invalid for '--http <host:port>': --http expects host:port, such as 127.0.0.1:9410 or [::1]:9410, or 'off'"),
        (["serve", "--http", "127.0.0.1:65536"], "--http expects host:port, such as 127.0.0.1:9410 or [::1]:9410, or 'off'"),
        (["serve", "--http", ":9410"], "--http expects host:port, such as 127.0.0.1:9410 or [::1]:9410, or 'off'"),
        (["serve", "--http", "[::1]9410"], "--http expects host:port, such as 127.0.0.1:9410 or [::1]:9410, or 'off'"),
        (["serve", "--http", "Off"], "--http expects host:port, such as 127.0.0.1:9410 or [::1]:9410, or 'off'"),
        (["push", "orders", "--wait", "soon"], "The value 'soon' is invalid for '--wait <duration>': invalid duration 'soon'"),
        (["backfill", "orders", "--from", "yesterday", "--to", "2024-01-03"], "The value 'yesterday' is invalid for '--from <from>': 'yesterday' is not a date (2024-01-01) or ISO date-time"),
        (["backfill", "orders", "--from", "2024-01-01", "--to", "03/01/2024"], "The value '03/01/2024' is invalid for '--to <to>': '03/01/2024' is not a date (2024-01-01) or ISO date-time"),
        (backfill + ["--step", "1y"], "The value '1y' is invalid for '--step <step>': invalid step '1y': unknown unit 'y'; use s, m, h, d, w or mo"),
        (backfill + ["--step", "0d"], "invalid step '0d'; use forms like '1d', '12h', '1w', '1mo'"),
        (backfill + ["--step", "d"], "invalid step 'd'; use forms like '1d', '12h', '1w', '1mo'"),
        (backfill + ["--timezone", "Mars/Olympus_Mons"], "The value 'Mars/Olympus_Mons' is invalid for '--timezone <timezone>': unknown time zone 'Mars/Olympus_Mons'; use an IANA name such as Europe/Berlin"),
        (backfill + ["--concurrency", "0"], "The value '0' is invalid for '--concurrency <concurrency>': --concurrency must be between 1 and 64, got '0'"),
        (backfill + ["--concurrency", "65"], "--concurrency must be between 1 and 64, got '65'"),
        (backfill + ["--concurrency", "many"], "--concurrency must be between 1 and 64, got 'many'"),
        (["backfill", "orders", "--from", "2024-01-03", "--to", "2024-01-01"], "--from (2024-01-03T00:00:00Z) must be before --to (2024-01-01T00:00:00Z)"),
        (["backfill", "orders", "--from", "2024-01-01", "--to", "2024-01-01"], "must be before --to"),
        (["run", "orders", "--param", "status"], "The value 'status' is invalid for '--param <key=value>': --param expects key=value, got 'status'"),
        (["run", "orders", "--param", "=paid"], "--param expects key=value, got '=paid'"),
        (["test", "orders", "--param", "status"], "--param expects key=value, got 'status'"),
        (backfill + ["--param", "status"], "--param expects key=value, got 'status'"),
        // Was silently dropped: replay then re-queued the failed deliveries instead.
        (["replay", "orders", "--since", "last tuesday"], "The value 'last tuesday' is invalid for '--since <time>': 'last tuesday' is not an ISO date-time such as 2024-03-01T00:00:00Z"),
        (["replay", "orders", "--since", "2024-13-01T00:00:00Z"], "is not an ISO date-time"),
    ])
    func aBadValueIsAUsageErrorThatSaysWhatWasExpected(arguments: [String], message: String) throws {
        let result = try run(arguments)
        #expect(result.status == 64, "\(result.stderr)")
        #expect(result.stderr.contains(message), "\(result.stderr)")
        #expect(result.stderr.contains("Usage: sheetsync \(arguments[0])"), "\(result.stderr)")
        // Refused before the project was read.
        #expect(!result.stderr.contains("bogus_key"), "\(result.stderr)")
    }

    /// Every spelling accepted before the options were typed is still accepted: each
    /// command gets as far as loading the (broken) project.
    @Test(arguments: [
        ["serve", "--grace", "1s"], ["serve", "--grace", "1.5"], ["serve", "--grace", "1h30m"], ["serve", "--grace", " 500ms"],
        ["serve", "--grace", "0"], ["serve", "--http", "off"], ["serve", "--http", "[::1]:0"], ["serve", "--http", "localhost:09410"],
        ["serve", "--http", "0.0.0.0:0", "--allow-remote-http"],
        ["push", "orders", "--wait", "500ms"], ["push", "orders", "--wait", "2"],
        backfill + ["--step", "30m"], backfill + ["--step", "1mo"], backfill + ["--step", "2w"], backfill + ["--step", "6h"],
        backfill + ["--timezone", "Europe/Berlin"], backfill + ["--timezone", "UTC"], backfill + ["--concurrency", "1"],
        backfill + ["--concurrency", "64"],
        ["backfill", "orders", "--from", "2024-01-01T00:00:00Z", "--to", "2024-01-01T06:00:00Z", "--step", "1h"],
        ["run", "orders", "--param", "status=paid"], ["run", "orders", "--param", "status="], ["run", "orders", "--param", "a=b=c"],
        ["test", "orders", "--param", "status=paid"], backfill + ["--param", "status=paid"],
    ])
    func everyAcceptedSpellingIsStillAccepted(arguments: [String]) throws {
        let result = try run(arguments)
        #expect(result.status == 1, "\(result.stderr)")
        #expect(result.stderr.contains("sheetsync.yml:1:1: error: unknown key 'bogus_key'"), "\(result.stderr)")
        #expect(!result.stderr.contains("Usage:"), "\(result.stderr)")
    }

    /// A date in --from/--to is midnight in --timezone: the order of the bounds is judged
    /// after every option is parsed. 2024-01-01 in Berlin is 2023-12-31T23:00:00Z.
    @Test func aDateBoundIsMidnightInTheTimeZone() throws {
        let range = ["backfill", "orders", "--from", "2023-12-31T23:30:00Z", "--to", "2024-01-01"]
        let utc = try run(range)
        #expect(utc.status == 1, "\(utc.stderr)")
        let berlin = try run(range + ["--timezone", "Europe/Berlin"])
        #expect(berlin.status == 64, "\(berlin.stderr)")
        #expect(berlin.stderr.contains("--from (2023-12-31T23:30:00Z) must be before --to (2023-12-31T23:00:00Z)"), "\(berlin.stderr)")
    }

    /// `--param key=` gives the template an empty value (not a missing one), a key given
    /// twice keeps its last value, and the value may hold '='. Shown by the request that
    /// `run --dry-run` and `test` print.
    @Test(arguments: [["run", "--dry-run"], ["test"]])
    func paramValuesReachTheTemplate(command: [String]) throws {
        let cases: [([String], String)] = [
            (["--param", "status="], "X-Status: []"),
            (["--param", "status=a", "--param", "status=b"], "X-Status: [b]"),
            (["--param", "status=a=b"], "X-Status: [a=b]"),
        ]
        for (params, header) in cases {
            let result = try run([command[0], "orders"] + command.dropFirst() + params, files: Self.files)
            #expect(result.stdout.contains("GET http://127.0.0.1:9/orders\n"), "\(params): \(result.stdout)\(result.stderr)")
            #expect(result.stdout.contains("\n\(header)\n"), "\(params): \(result.stdout)\(result.stderr)")
            #expect(!result.stderr.contains("pass --param"), "\(result.stderr)")
        }
        // Without it the template has no value: the same check can fail.
        let missing = try run([command[0], "orders"] + command.dropFirst(), files: Self.files)
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("pass --param status="), "\(missing.stderr)")
    }

    /// The shared job options read the same in run, test and backfill: the job argument is
    /// required, and an empty --param value reaches the job (a missing one is an error).
    @Test(arguments: [["run"], ["test"], ["backfill", "--from", "2024-01-01", "--to", "2024-01-02"]])
    func theJobOptionsWorkTheSameInEveryCommand(command: [String]) throws {
        let noJob = try run(command)
        #expect(noJob.status == 64, "\(noJob.stderr)")
        #expect(noJob.stderr.contains("Missing expected argument '<job>'"), "\(noJob.stderr)")
        #expect(noJob.stderr.contains("[--param <key=value> ...]"), "\(noJob.stderr)")

        let unknown = try run([command[0], "ordrs"] + command.dropFirst(), files: Self.files)
        #expect(unknown.status == 1)
        #expect(unknown.stderr.contains("error: no job 'ordrs'"), "\(unknown.stderr)")

        let missing = try run([command[0], "orders"] + command.dropFirst(), files: Self.files)
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("pass --param status="), "\(missing.stderr)")
        let blank = try run([command[0], "orders"] + command.dropFirst() + ["--param", "status="], files: Self.files)
        #expect(blank.status == 1, "the API is a closed port")
        #expect(!blank.stderr.contains("pass --param"), "\(blank.stderr)")
        #expect(blank.stderr.contains("127.0.0.1:9"), "\(blank.stderr)")
    }
}
