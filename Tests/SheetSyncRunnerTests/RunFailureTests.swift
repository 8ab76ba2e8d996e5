import SheetSyncTesting
import Testing
import SheetSyncCore
import SheetSyncHTTP
@testable import SheetSyncRunner
import SheetSyncStore
import SheetSyncTransform

/// A run's failure keeps a stable code (what `_sheetsync_runs.error_code` records) and
/// the stage error it came from.
struct RunFailureTests {
    typealias RunFailure = JobRunner.RunFailure

    @Test func aPageReadErrorIsKeptAsTheCause() throws {
        let cause = CoreError(.invalidJSON, "unexpected end of input at offset 3")
        let page = PageReadError(.invalidJSON, cause.message, underlying: cause)
        let failure = RunFailure(page, message: "the response of http://x/orders is not valid JSON: \(cause.message)", continued: true)
        #expect(failure.code == .invalidJSON)
        #expect(failure.recordedCode == "invalid_json")
        #expect(failure.continued)
        let kept = try #require(failure.underlying as? PageReadError)
        #expect(kept.code == .invalidJSON)
        #expect(kept.message == cause.message)
        #expect((kept.underlying as? CoreError) == cause)
    }

    @Test func anHTTPStepErrorIsKeptAndTheServersCodeRecorded() throws {
        let step = HTTPStepError(.status, "HTTP 403 from http://x/orders: [forbidden] no", status: 403, remoteCode: "forbidden")
        let failure = RunFailure(step)
        #expect(failure.code == .status)
        #expect(failure.recordedCode == "forbidden")
        #expect(failure.message == step.message)
        #expect((failure.underlying as? HTTPStepError)?.status == 403)
        // Without a code from the server, the stage's own.
        #expect(RunFailure(HTTPStepError(.timeout, "no answer within 1s")).recordedCode == "timeout")
    }

    /// Every request code is recorded under the same string the request stage uses.
    @Test(arguments: [HTTPStepError.Code.timeout, .connection, .tls, .status, .tooLarge, .invalidRequest, .redirect, .refusedURL,
                      .proxyAuthentication])
    func requestCodesKeepTheirStrings(_ code: HTTPStepError.Code) {
        #expect(RunFailure.Code(code).rawValue == code.rawValue)
    }

    @Test(arguments: [PageReadError.Code.invalidJSON, .unexpectedResponse, .invalidJob])
    func pageReadCodesKeepTheirStrings(_ code: PageReadError.Code) {
        #expect(RunFailure.Code(code).rawValue == code.rawValue)
    }

    /// The strings runs have always recorded; scripts depend on them.
    @Test func theRecordedCodesAreTheHistoricalStrings() {
        #expect(Set(RunFailure.Code.allCases.filter { $0 != .unclassified }.map(\.rawValue)) == [
            "timeout", "connection", "tls", "status", "too_large", "invalid_request", "redirect", "refused_url",
            "invalid_json", "unexpected_response", "invalid_job", "pagination_loop", "interrupted", "step_failed",
            // Issue 15: a proxy that refuses sheetsync.yml's credentials (407).
            "proxy_authentication",
            // Issue 16: a 2xx whose body reports an error (request.error.when) without an 'error.code'.
            "error_response",
        ])
    }

    @Test func aStoreErrorMidRunIsKeptAndRecordedWithoutACodeAsBefore() throws {
        let store = StoreError(.sqlError, "Unable to write page 2 for job 'orders', disk I/O error")
        let failure = RunFailure(wrapping: store)
        #expect(failure.code == .unclassified)
        #expect(failure.recordedCode == nil)
        #expect(failure.message == store.message)
        #expect((failure.underlying as? StoreError)?.code == .sqlError)
        // A failure passes through as it is.
        let coded = RunFailure(.paginationLoop, "page 3 has the same body as page 2")
        #expect(RunFailure(wrapping: coded).recordedCode == "pagination_loop")
    }

    /// End to end: a page that is not JSON fails the run with `invalid_json`, recorded.
    @Test(arguments: Backend.allCases) func aRunWhoseResponseIsNotJSONRecordsInvalidJSON(_ backend: Backend) async throws {
        let script = ScriptedResponses()
        await script.set(body: #"{"data": [{"id": "o1"}"#)
        try await withScriptedHarness(script, job: PullRunTests.ordersJob, backend: backend) { harness, _ in
            let summary = await harness.runner.run(try harness.job("orders"))
            #expect(summary.status == .failed)
            #expect(summary.errorCode == "invalid_json")
            let run = try harness.rows("SELECT error_code, error_message FROM _sheetsync_runs")[0]
            #expect(run["error_code"] as String == "invalid_json")
            #expect((run["error_message"] as String).contains("is not valid JSON"))
        }
    }
}
