import ArgumentParser
import Foundation
import Logging

enum LogLevelOption: String, ExpressibleByArgument, CaseIterable {
    case trace, debug, info, notice, warning, error, critical

    var level: Logger.Level { Logger.Level(rawValue: rawValue) ?? .info }
}

enum LogFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json
}

extension GlobalOptions {
    /// Sets up logging to stderr once per process and returns the command's logger.
    func makeLogger(label: String = "sheetsync") -> Logger {
        LoggingSetup.makeLogger(level: logLevel, format: logFormat, label: label)
    }
}

enum LoggingSetup {
    nonisolated(unsafe) private static var done = false
    private static let lock = NSLock()

    static func makeLogger(level: LogLevelOption, format: LogFormat, label: String = "sheetsync") -> Logger {
        bootstrap(format: format)
        var logger = Logger(label: label)
        logger.logLevel = level.level
        return logger
    }

    static func bootstrap(format: LogFormat) {
        lock.lock()
        defer { lock.unlock() }
        guard !done else { return }
        done = true
        switch format {
        case .text: LoggingSystem.bootstrap { TextLogHandler(label: $0) }
        case .json: LoggingSystem.bootstrap { JSONLogHandler(label: $0) }
        }
    }
}

/// One JSON object per line on stderr: `{"time":…,"level":…,"label":…,"message":…, …metadata}`.
struct JSONLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var object: [String: String] = [
            "time": logTimestamp(),
            "level": event.level.rawValue,
            "label": label,
            "message": event.message.description,
        ]
        for (key, value) in metadata.merging(event.metadata ?? [:], uniquingKeysWith: { $1 }) {
            object[key] = value.description
        }
        if let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) {
            Output.err(String(decoding: data, as: UTF8.self))
        }
    }
}

/// A log line's time: UTC with milliseconds (`2026-12-02T01:18:36.123Z`); whole seconds
/// (swift-log's stream handler) could not order the lines of one second.
func logTimestamp(_ date: Date = Date()) -> String {
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    return formatter.string(from: date)
}

/// One line per event on stderr, as swift-log's `StreamLogHandler` writes them
/// (`TIME LEVEL LABEL: METADATA [SOURCE] MESSAGE`) with milliseconds in the time.
struct TextLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let merged = metadata.merging(event.metadata ?? [:], uniquingKeysWith: { $1 })
        let pairs = merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        Output.err("\(logTimestamp()) \(event.level) \(label):\(pairs.isEmpty ? "" : " " + pairs) [\(event.source)] \(event.message)")
    }
}
