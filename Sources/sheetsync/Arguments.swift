import ArgumentParser
import Foundation
import SheetSyncCore

/// A command-line value that checks its text when it is parsed and, when the text is
/// wrong, says what it expected.
///
/// `init?(argument:)` alone can only answer "invalid", and ArgumentParser then prints
/// "The value 'abc' is invalid for '--grace <duration>'" with no hint. So options of
/// these types are declared with `transform: Type.parse`: the message of the thrown
/// `ValidationError` follows ArgumentParser's own sentence, and the command exits 64 with
/// its usage. Defaults are written into the help text, as a transform hides them.
protocol CommandLineValue: ExpressibleByArgument, Sendable {
    /// Parses `text`, or throws a `ValidationError` saying what was expected.
    static func parse(_ text: String) throws -> Self
}

extension CommandLineValue {
    init?(argument: String) {
        guard let value = try? Self.parse(argument) else { return nil }
        self = value
    }
}

/// A duration such as `30s`, `500ms`, `5m`, `1h30m`, `2d` or a bare number of seconds
/// (the job files' syntax, `DurationText`): `serve --grace`, `push --wait`.
struct DurationArgument: CommandLineValue, Equatable, CustomStringConvertible {
    var duration: Duration

    init(_ duration: Duration) { self.duration = duration }

    static func parse(_ text: String) throws -> DurationArgument {
        do {
            return DurationArgument(try DurationText.parse(text))
        } catch {
            throw ValidationError(error.message)
        }
    }

    var description: String { DurationText.format(duration) }
}

/// A backfill window length: `30m`, `6h`, `1d`, `1w`, `1mo` (`BackfillPlan.parseStep`).
/// The text is kept: a backfill is recorded, and resumed, under the step as written.
struct BackfillStepArgument: CommandLineValue, CustomStringConvertible {
    var step: BackfillPlan.Step
    var text: String

    static func parse(_ text: String) throws -> BackfillStepArgument {
        do {
            return BackfillStepArgument(step: try BackfillPlan.parseStep(text), text: text)
        } catch {
            throw ValidationError(error.message)
        }
    }

    var description: String { text }
}

/// An IANA time zone name such as `Europe/Berlin`. The name is kept as written: a
/// backfill is recorded under it.
struct TimeZoneArgument: CommandLineValue, CustomStringConvertible {
    var zone: TimeZone
    var identifier: String

    static func parse(_ text: String) throws -> TimeZoneArgument {
        guard let zone = TimeZone(identifier: text) else {
            throw ValidationError("unknown time zone '\(text)'; use an IANA name such as Europe/Berlin")
        }
        return TimeZoneArgument(zone: zone, identifier: text)
    }

    var description: String { identifier }
}

/// A backfill bound (`--from`, `--to`): a date (`2024-01-01`) or an ISO date-time.
///
/// A date means midnight in `--timezone`, which is only known once every option is
/// parsed, so the text is checked here and turned into an instant by `instant(in:)`.
struct BackfillInstantArgument: CommandLineValue, CustomStringConvertible {
    var text: String

    static func parse(_ text: String) throws -> BackfillInstantArgument {
        guard BackfillPlan.parseInstant(text) != nil else {
            throw ValidationError("'\(text)' is not a date (2024-01-01) or ISO date-time")
        }
        return BackfillInstantArgument(text: text)
    }

    /// The instant: a date is midnight in `zone` (UTC when nil).
    func instant(in zone: TimeZone?) -> UTCDateTime? {
        BackfillPlan.parseInstant(text, zone: zone)
    }

    var description: String { text }
}

/// A `--param key=value`: everything after the first `=` is the value, which may be
/// empty (`--param status=` gives `{{param.status}}` the empty string); the key may not.
struct JobParameter: CommandLineValue, Equatable, CustomStringConvertible {
    var key: String
    var value: String

    static func parse(_ text: String) throws -> JobParameter {
        guard let equals = text.firstIndex(of: "="), equals != text.startIndex else {
            throw ValidationError("--param expects key=value, got '\(text)'")
        }
        return JobParameter(key: String(text[..<equals]), value: String(text[text.index(after: equals)...]))
    }

    var description: String { "\(key)=\(value)" }
}

/// Where `serve` listens for its HTTP endpoints: a `host:port` (`HTTPListenAddress`),
/// or `off` for none. The text is kept for messages, as the user wrote it.
struct HTTPListenArgument: CommandLineValue, CustomStringConvertible {
    var text: String
    /// Nil for `off`.
    var address: HTTPListenAddress?

    static let standard = HTTPListenArgument(text: "127.0.0.1:9410", address: HTTPListenAddress(host: "127.0.0.1", port: 9410))

    static func parse(_ text: String) throws -> HTTPListenArgument {
        if text == "off" { return HTTPListenArgument(text: text, address: nil) }
        guard let address = HTTPListenAddress(text) else {
            throw ValidationError("--http expects host:port, such as 127.0.0.1:9410 or [::1]:9410, or 'off'")
        }
        return HTTPListenArgument(text: text, address: address)
    }

    var description: String { text }
}

/// How many backfill windows run at once: 1 to 64.
struct BackfillConcurrency: CommandLineValue, Equatable, CustomStringConvertible {
    static let range = 1...64
    var count: Int

    init(_ count: Int) { self.count = count }

    static func parse(_ text: String) throws -> BackfillConcurrency {
        guard let count = Int(text), range.contains(count) else {
            throw ValidationError("--concurrency must be between \(range.lowerBound) and \(range.upperBound), got '\(text)'")
        }
        return BackfillConcurrency(count)
    }

    var description: String { String(count) }
}

/// An ISO-8601 date-time such as `2024-03-01T00:00:00Z` (`replay --since`). A text that
/// does not parse is refused: before, it was dropped, and replay re-queued the failed
/// deliveries instead of the ones asked for.
struct TimestampArgument: CommandLineValue, CustomStringConvertible {
    var instant: UTCDateTime

    static func parse(_ text: String) throws -> TimestampArgument {
        guard let instant = UTCDateTime(iso: text.trimmingCharacters(in: .whitespaces)) else {
            throw ValidationError("'\(text)' is not an ISO date-time such as 2024-03-01T00:00:00Z")
        }
        return TimestampArgument(instant: instant)
    }

    var description: String { instant.description }
}
