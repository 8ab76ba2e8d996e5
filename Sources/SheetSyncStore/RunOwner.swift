import Foundation

/// The process that runs a run, recorded with it (`_sheetsync_runs.owner_pid`, `owner`) so
/// that another process can tell a run whose process is gone (killed, crashed, the machine
/// restarted) from one that is still going, such as a `sheetsync run` next to `serve`.
///
/// A pid alone is not enough: pids are reused. The owner is the pid plus a token made of the
/// host name, the boot id and the process's start time (clock ticks after boot, from
/// `/proc/PID/stat`): a later process that gets the same pid started at another time.
public struct RunOwner: Equatable, Sendable {
    public var pid: Int32
    /// `host/boot id/start ticks`.
    public var token: String

    public init(pid: Int32, token: String) {
        self.pid = pid
        self.token = token
    }

    /// What another process can tell about an owner.
    public enum Liveness: Equatable, Sendable {
        case alive
        case gone
        /// Recorded on another host (a database on a shared volume): not judged.
        case unknown
    }

    /// This process.
    public static let current: RunOwner = {
        let pid = getpid()
        return RunOwner(pid: pid, token: "\(RunOwner.hostName)/\(RunOwner.bootID ?? "")/\(RunOwner.startTicks(of: pid) ?? "")")
    }()

    /// Whether the owner still runs, judged from this process.
    public var liveness: Liveness {
        let parts = token.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 3, parts[0] == Self.hostName else { return .unknown }
        if let boot = Self.bootID, !parts[1].isEmpty, parts[1] != boot { return .gone }
        guard Self.startTicks(of: getpid()) != nil else {
            // No /proc: a process with the pid exists or not (a reused pid is then not seen).
            return kill(pid, 0) == 0 || errno == EPERM ? .alive : .gone
        }
        guard let ticks = Self.startTicks(of: pid) else { return .gone }
        return parts[2].isEmpty || ticks == parts[2] ? .alive : .gone
    }

    public static let hostName: String = {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            .replacingOccurrences(of: "/", with: "_")
    }()

    static let bootID: String? = {
        (try? String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }()

    /// The start time of process `pid` in clock ticks after boot (field 22 of
    /// `/proc/PID/stat`); nil when there is no such process, or it is a zombie (it has ended
    /// and waits for its parent).
    static func startTicks(of pid: Int32) -> String? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        // After "pid (command)": state, ppid, … ; the command may hold spaces and parentheses.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 19, fields[0] != "Z", fields[0] != "X" else { return nil }
        return String(fields[19])
    }
}
