/// Failure notifications (`notify:` in sheetsync.yml, and per job): a JSON message with a
/// Slack-compatible `text` posted to a webhook when a job fails, keeps failing, or recovers.
public struct NotifySettings: Sendable, Hashable {
    public enum Event: String, Sendable, Hashable, CaseIterable {
        /// A run failed after one that did not (or after none).
        case failure
        /// Every `repeat_after` failures in a row after the first.
        case stillFailing = "still_failing"
        /// A run succeeded (or was partial) after one that failed.
        case recovery
    }

    /// Where the message goes: a template, usually a `{{secret.…}}` (webhook URLs are credentials).
    public var url: Template
    public var on: Set<Event> = Set(Event.allCases)
    /// Failures in a row after which a failing job is reported again (0: never again).
    public var repeatAfter = 10
    /// Attempts per message, the first included, and the delays between them.
    public var attempts = 5
    public var backoff: [Duration] = [.seconds(10), .seconds(60), .seconds(300), .seconds(1800)]

    public init(url: Template) {
        self.url = url
    }
}

/// A job's `notify:`: the project's settings (the default), none (`notify: false`), or its own.
public enum JobNotify: Sendable, Hashable {
    case project
    case off
    case custom(NotifySettings)

    /// What applies to a job of a project with `project` settings.
    public func resolved(project: NotifySettings?) -> NotifySettings? {
        switch self {
        case .project: project
        case .off: nil
        case .custom(let settings): settings
        }
    }
}
