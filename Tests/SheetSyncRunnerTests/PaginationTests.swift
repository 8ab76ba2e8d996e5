import Foundation
import GRDB
import Testing
import SheetSyncCore
import SheetSyncDemo
@testable import SheetSyncRunner
import SheetSyncStore
import SheetSyncTesting

/// Every pagination style and stop rule against a real loopback server.
struct PaginationTests {
    static let schema = """
        key: [id]
        fields:
          id: integer
          status: text
          total: decimal
          updated_at: datetime
        """

    static func job(_ request: String, paginate: String, records: String = "$.data", extra: String = "") -> String {
        """
        kind: pull
        worksheet: records
        request:
        \(request.split(separator: "\n").map { "  " + $0 }.joined(separator: "\n"))
          retry: { attempts: 1 }
        paginate: \(paginate)
        records: "\(records)"
        fields: { id: $.id, status: $.status, total: $.total, updated_at: $.meta.updated_at }
        \(extra)
        """
    }

    /// Runs `jobText` against `server`, then `check` with its summary and harness (shut
    /// down when `check` returns or throws).
    func run(_ jobText: String, server: LoopbackServer, _ check: (RunSummary, Harness) async throws -> Void) async throws {
        try await withHarness(files: ["schema/records.yml": Self.schema, "jobs/j.yml": jobText,
                                      "sheetsync.yml": "env: { API: '\(server.baseURL)' }\n"], environment: [:]) { harness in
            try await check(await harness.runner.run(try harness.job("j")), harness)
        }
    }

    func ids(_ harness: Harness) throws -> [Int] {
        try harness.rows("SELECT id FROM records ORDER BY id").map { $0[0] as Int }
    }

    struct Style: Sendable, CustomTestStringConvertible {
        var name: String
        var request: String
        var paginate: String
        var records = "$.data"
        var pages: Int
        var stop: String
        var testDescription: String { name }
    }

    static let styles: [Style] = [
        Style(name: "page + has_more", request: "url: \"{{env.API}}/page\"",
              paginate: "{ style: page, size_param: per_page, size: 10, has_more: $.has_more }", pages: 3, stop: "$.has_more is false"),
        Style(name: "page + total", request: "url: \"{{env.API}}/page\"",
              paginate: "{ style: page, size_param: per_page, size: 10, total: $.total }", pages: 3, stop: "total of 25 records reached"),
        Style(name: "page + total_pages", request: "url: \"{{env.API}}/page\"",
              paginate: "{ style: page, size_param: per_page, size: 10, total_pages: $.total_pages }", pages: 3, stop: "total of 3 pages reached"),
        Style(name: "page starting at 0 is not assumed", request: "url: \"{{env.API}}/page\"",
              paginate: "{ style: page, start: 1, size_param: per_page, size: 10 }", pages: 4, stop: "empty page"),
        Style(name: "offset until an empty page", request: "url: \"{{env.API}}/offset\"",
              paginate: "{ style: offset, size_param: limit, size: 10 }", records: "$.items", pages: 4, stop: "empty page"),
        Style(name: "cursor in the query", request: "url: \"{{env.API}}/cursor\"",
              paginate: "{ style: cursor, param: after, next: $.next, size_param: limit, size: 10 }", pages: 3, stop: "no next token at $.next"),
        Style(name: "cursor in a header", request: "url: \"{{env.API}}/cursor\"",
              paginate: "{ style: cursor, param: X-Cursor, in: header, next: $.next }", pages: 3, stop: "no next token at $.next"),
        Style(name: "next_url (relative)", request: "url: \"{{env.API}}/next-url\"",
              paginate: "{ style: next_url, next: $.links.next }", pages: 3, stop: "no next URL at $.links.next"),
        Style(name: "Link header with several relations", request: "url: \"{{env.API}}/link\"",
              paginate: "{ style: link_header }", records: "$", pages: 3, stop: "no Link rel=\"next\""),
        Style(name: "POST with the page in the JSON body", request: "method: POST\nurl: \"{{env.API}}/search\"\nbody: { json: { filter: x } }",
              paginate: "{ style: page, in: body, size_param: size, size: 10, has_more: $.more }", pages: 3, stop: "$.more is false"),
        Style(name: "a short page mid-way is not the end", request: "url: \"{{env.API}}/page-short\"",
              paginate: "{ style: page, size: 10 }", pages: 4, stop: "empty page"),
    ]

    @Test(arguments: styles)
    func fetchesEveryRecordOnce(_ style: Style) async throws {
        try await withLoopbackServer(PagedAPI.router()) { server in
            try await run(Self.job(style.request, paginate: style.paginate, records: style.records), server: server) { summary, harness throws in
                #expect(summary.status == .succeeded, "\(summary.line)")
                #expect(try ids(harness) == Array(1...25))
                #expect(summary.pages == style.pages)
                #expect(summary.stopReason == style.stop)
                #expect(summary.warnings.isEmpty)
                #expect(try harness.count("_sheetsync_requests") == style.pages)
                // A complete run leaves no resume state behind.
                #expect(try harness.rows("SELECT name FROM _sheetsync_state WHERE name LIKE 'resume.%'").isEmpty)
            }
        }
    }

    @Test(arguments: Backend.allCases) func aServerRepeatingItsLastPageIsStoppedAndRealPagesKept(_ backend: Backend) async throws {
        try await withLoopbackServer(PagedAPI.router()) { server in
            try await run(Self.job("url: \"{{env.API}}/repeat\"", paginate: "{ style: page }"), server: server) { summary, harness throws in
                #expect(summary.status == .failed)
                #expect(summary.errorCode == "pagination_loop")
                #expect(summary.errorMessage?.contains("page 3 has the same body as page 2") == true)
                #expect(try ids(harness) == Array(1...20))
            }
        }
    }

    @Test(arguments: Backend.allCases) func aRepeatedTokenIsStopped(_ backend: Backend) async throws {
        try await withLoopbackServer(PagedAPI.router()) { server in
            try await run(Self.job("url: \"{{env.API}}/same-token\"", paginate: "{ style: cursor, param: after, next: $.next }"), server: server) { summary, harness throws in
                #expect(summary.status == .failed)
                #expect(summary.errorMessage?.contains("returned token 'tok-again' again on page 2") == true)
                #expect(try ids(harness) == [1, 2])  // page 2 is real and kept; its next token is the loop
            }
        }
    }

    @Test(arguments: Backend.allCases) func aTotalMismatchIsAWarning(_ backend: Backend) async throws {
        try await withLoopbackServer(PagedAPI.router()) { server in
            try await run(Self.job("url: \"{{env.API}}/total-mismatch\"", paginate: "{ style: page, total: $.total }"), server: server) { summary, harness in
                #expect(summary.status == .succeeded)
                #expect(summary.warnings == ["fetched 25 records but the API reported a total of 30"])
                let details = try harness.rows("SELECT details FROM _sheetsync_runs")[0][0] as String
                #expect(details.contains("fetched 25 records but the API reported a total of 30"))
            }
        }
    }

    /// Issue 18: a mistyped `has_more` never stopped anything and a mistyped `next` ended
    /// every run after one page, both without a word.
    @Test(arguments: Backend.allCases) func pathsOfThePaginationThatAreNotInTheResponseAreWarnings(_ backend: Backend) async throws {
        try await withLoopbackServer(PagedAPI.router()) { server in
            try await run(Self.job("url: \"{{env.API}}/page\"", paginate: "{ style: page, size_param: per_page, size: 10, has_more: $.hasmore }"), server: server) { summary, harness throws in
                #expect(summary.status == .succeeded)
                #expect(try ids(harness) == Array(1...25))
                #expect(summary.warnings == ["paginate.has_more '$.hasmore' is not in the response, so it never stopped the run; check the path against a response ('sheetsync test JOB')"],
                        "once for \(summary.pages) pages: \(summary.warnings)")
            }
            try await run(Self.job("url: \"{{env.API}}/cursor\"", paginate: "{ style: cursor, param: after, next: $.nxt, size_param: limit, size: 10 }"), server: server) { summary, harness throws in
                #expect(summary.pages == 1)
                #expect(summary.warnings.count == 1)
                #expect(summary.warnings.first?.hasPrefix("paginate.next '$.nxt' is not in the first page's response, so the run stopped after one page") == true, "\(summary.warnings)")
            }
        }
    }

    @Test(arguments: Backend.allCases) func maxPagesStopsWithAWarning(_ backend: Backend) async throws {
        try await withLoopbackServer(PagedAPI.router()) { server in
            try await run(Self.job("url: \"{{env.API}}/page\"", paginate: "{ style: page, size_param: per_page, size: 10, max_pages: 2 }"), server: server) { summary, harness throws in
                #expect(summary.pages == 2)
                #expect(summary.warnings.first?.contains("stopped after max_pages (2)") == true)
                #expect(try ids(harness) == Array(1...20))
            }
        }
    }

    @Test(arguments: Backend.allCases) func delayAndRateLimitSpaceTheRequests(_ backend: Backend) async throws {
        try await withLoopbackServer(PagedAPI.router()) { server in
            let started = ContinuousClock.now
            try await run(Self.job("url: \"{{env.API}}/page\"", paginate: "{ style: page, size_param: per_page, size: 10, has_more: $.has_more, requests_per_second: 5 }"), server: server) { summary, _ in
                #expect(summary.pages == 3)
                #expect(ContinuousClock.now - started >= .milliseconds(380), "3 requests at 5/s take at least 400 ms")
            }
        }
    }

    @Test func linkHeaderParsing() {
        let header = #"<https://x/p?page=1>; rel="first", <https://x/p?page=3>; rel="next", <https://x/p?page=9>; rel="last""#
        #expect(LinkHeaderProbe.next(header) == "https://x/p?page=3")
        #expect(LinkHeaderProbe.next(#"<https://x/a>; rel="prev next""#) == "https://x/a")
        #expect(LinkHeaderProbe.next(#"<https://x/a>; rel="last""#) == nil)
    }
}

import SheetSyncHTTP

enum LinkHeaderProbe {
    static func next(_ header: String) -> String? { LinkHeader.url(rel: "next", in: header) }
}
