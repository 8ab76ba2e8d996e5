import SheetSyncHTTP
import SheetSyncStore
import SheetSyncTransform

extension JobRunner {
    /// The run stage's one error: why a pull run ended early. `code` is what the run
    /// records as `error_code` in `_sheetsync_runs` (unless the server sent its own, see
    /// `remoteCode`), `message` what it records as `error_message`, and `underlying` the
    /// stage error it came from (`HTTPStepError`, `PageReadError`, `StoreError`,
    /// `CoreError`), kept for logs and tests.
    ///
    /// Modelled on NIO's `FileSystemError`: a code, a message for people, the cause.
    struct RunFailure: Error, Sendable, CustomStringConvertible {
        /// The raw values are the `error_code` strings runs have always recorded: scripts
        /// and `history` filters depend on them, so they never change.
        enum Code: String, Sendable, CaseIterable {
            // The request stage (`HTTPStepError.Code`, same strings).
            case timeout
            case connection
            case tls
            case status
            case tooLarge = "too_large"
            case invalidRequest = "invalid_request"
            case redirect
            case refusedURL = "refused_url"
            case proxyAuthentication = "proxy_authentication"
            case errorResponse = "error_response"
            // The transform stage (`PageReadError.Code`, same strings).
            case invalidJSON = "invalid_json"
            case unexpectedResponse = "unexpected_response"
            case invalidJob = "invalid_job"
            // The run itself.
            /// The pages repeat (same body, same token, same next URL).
            case paginationLoop = "pagination_loop"
            /// A daemon shutting down stopped the run after the page being written (or cut
            /// it short when the grace period ran out); the run is `interrupted`, the next resumes.
            case interrupted
            /// A per-record step with `on_failure: terminate` failed.
            case stepFailed = "step_failed"
            /// An error no stage classified: the store failing mid-run, a cancelled wait.
            /// Runs record it without an `error_code`, as they always have.
            case unclassified
        }

        var code: Code
        var message: String
        /// The error code the server sent in its body (`request.error`), recorded instead
        /// of `code` when there is one.
        var remoteCode: String?
        /// `on_failure: continue` made the run partial instead of failed.
        var continued: Bool
        /// The stage error this failure came from.
        var underlying: (any Error)?

        init(_ code: Code, _ message: String, remoteCode: String? = nil, continued: Bool = false, underlying: (any Error)? = nil) {
            self.code = code
            self.message = message
            self.remoteCode = remoteCode
            self.continued = continued
            self.underlying = underlying
        }

        /// A request that failed; `message` replaces the error's own when the run says
        /// more (which job or step).
        init(_ error: HTTPStepError, message: String? = nil, continued: Bool = false) {
            self.init(Code(error.code), message ?? error.message, remoteCode: error.remoteCode, continued: continued, underlying: error)
        }

        /// A page, a mapping or a record that could not be read.
        init(_ error: PageReadError, message: String? = nil, continued: Bool = false) {
            self.init(Code(error.code), message ?? error.message, continued: continued, underlying: error)
        }

        /// Any error that ends a run: a `RunFailure` as it is, anything else unclassified
        /// with its own text as the message.
        init(wrapping error: any Error) {
            if let failure = error as? RunFailure {
                self = failure
            } else if let error = error as? StoreError, error.code == .lostClaim {
                // Not a failure of the job: another node may run it now; the next run resumes.
                self.init(.interrupted, error.message, underlying: error)
            } else {
                self.init(.unclassified, "\(error)", underlying: error)
            }
        }

        /// The HTTP status of the response this failure came from, when there was one.
        var httpStatus: Int? { (underlying as? HTTPStepError)?.status }

        /// What the run records as `error_code`.
        var recordedCode: String? {
            code == .unclassified ? nil : remoteCode ?? code.rawValue
        }

        var description: String { message }
    }
}

extension JobRunner.RunFailure.Code {
    init(_ code: HTTPStepError.Code) {
        switch code {
        case .timeout: self = .timeout
        case .connection: self = .connection
        case .tls: self = .tls
        case .status: self = .status
        case .tooLarge: self = .tooLarge
        case .invalidRequest: self = .invalidRequest
        case .redirect: self = .redirect
        case .refusedURL: self = .refusedURL
        case .proxyAuthentication: self = .proxyAuthentication
        case .errorResponse: self = .errorResponse
        }
    }

    init(_ code: PageReadError.Code) {
        switch code {
        case .invalidJSON: self = .invalidJSON
        case .unexpectedResponse: self = .unexpectedResponse
        case .invalidJob: self = .invalidJob
        // A record that does not convert is a reject, never a run's failure; should one
        // reach a run, the response is what was unexpected.
        case .conversionFailed: self = .unexpectedResponse
        }
    }
}
