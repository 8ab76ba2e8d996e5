import Foundation
import Logging
import SheetSyncCore
import SheetSyncHTTP
import SheetSyncStore
import SheetSyncTransform

extension JobRunner {
    // Typed throws are caught here, outside the async loop (Swift 6.3 crashes compiling
    // a typed-throws catch inside that loop).
    static func buildPage(_ builder: RequestBuilder, _ spec: HTTPRequestSpec, values: TemplateValues, walker: PageWalker?,
                          position: PagePosition) -> Result<PreparedRequest, HTTPStepError> {
        do {
            var request = try builder.build(spec, values: values)
            try walker?.apply(position, to: &request)
            return .success(request)
        } catch {
            return .failure(error)
        }
    }

    /// Why a response is not JSON, with what its headers say when they explain it: a
    /// content type that is not JSON, or a compression sheetsync never asked for.
    static func notJSON(_ response: HTTPResponseData, url: String, _ message: String) -> String {
        var hints: [String] = []
        if let type = response.header("Content-Type"), !type.lowercased().contains("json") {
            hints.append("Content-Type: \(type)")
        }
        if let encoding = response.header("Content-Encoding"), encoding.lowercased() != "identity" {
            hints.append("Content-Encoding: \(encoding), which sheetsync does not ask for and does not decode")
        }
        let context = hints.isEmpty ? "" : " (\(hints.joined(separator: "; ")))"
        return "the response of \(url) is not valid JSON\(context): \(message)"
    }

    static func decide(_ walker: inout PageWalker, after position: PagePosition, response: HTTPResponseData, document: JSONValue,
                       records: Int) -> Result<PageDecision, HTTPStepError> {
        do {
            return .success(try walker.next(after: position, response: response, document: document, records: records))
        } catch {
            return .failure(error)
        }
    }
}

/// Points of a pull run where the crash tests stop the process (see `JobRunner.faults`).
public enum FaultPoint: String, Sendable {
    case afterRequest = "after-request"
    case midWrite = "mid-write"
    case afterCommit = "after-commit"

    /// The hook `SHEETSYNC_FAULT=after-request:3` (or `mid-write:N`, `after-commit:N`)
    /// asks for: SIGKILL at that point of page N. The command-line tool reads it, so the
    /// crash tests can stop the real binary exactly where they want; nothing below the
    /// tool reads the environment.
    public static func hook(from environment: [String: String]) -> FaultHook? {
        guard let text = environment["SHEETSYNC_FAULT"] else { return nil }
        let parts = text.split(separator: ":")
        guard parts.count == 2, let target = FaultPoint(rawValue: String(parts[0])), let page = Int(parts[1]) else { return nil }
        return { point, number in
            if point == target, number == page { kill(getpid(), SIGKILL) }
        }
    }
}

/// Called at each `FaultPoint` of a pull run with the page number.
public typealias FaultHook = @Sendable (FaultPoint, Int) -> Void
