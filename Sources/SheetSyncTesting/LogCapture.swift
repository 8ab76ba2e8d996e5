import Foundation
import Logging

/// Collects log lines so tests can check what was logged.
public final class LogCapture: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []

    public init() {}

    /// Every line logged so far, oldest first.
    public var all: [String] {
        lock.lock()
        defer { lock.unlock() }
        return lines
    }

    public func append(_ line: String) {
        lock.lock()
        lines.append(line)
        lock.unlock()
    }

    /// A logger at `trace` level whose lines land here.
    public func logger(label: String = "test") -> Logger {
        var logger = Logger(label: label) { _ in CapturingHandler(capture: self) }
        logger.logLevel = .trace
        return logger
    }

    struct CapturingHandler: LogHandler {
        let capture: LogCapture
        var logLevel: Logger.Level = .trace
        var metadata: Logger.Metadata = [:]
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            capture.append("\(event.level) \(event.message) \(metadata) \(event.metadata ?? [:])")
        }
    }
}
