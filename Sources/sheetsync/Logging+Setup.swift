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
        case .text: LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
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
            "time": ISO8601DateFormatter().string(from: Date()),
            "level": event.level.rawValue,
            "label": label,
            "message": event.message.description,
        ]
        for (key, value) in metadata.merging(event.metadata ?? [:], uniquingKeysWith: { $1 }) {
            object[key] = value.description
        }
        if let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) {
            FileHandle.standardError.write(data + Data("\n".utf8))
        }
    }
}
