/// `sheetsync.yml`: settings shared by every job of a project. Every key is optional.
public struct ProjectSettings: Sendable, Hashable {
    /// Database path, relative to the project directory. Default `sheetsync.db`.
    public var database: String?
    /// Default IANA time zone for schedules. Default UTC.
    public var timezone: String?
    /// Values for `{{env.X}}` when the environment does not set X.
    public var env: [String: String]
    /// A file of `NAME: value` secrets (mode 0600), relative to the project.
    public var secretsFile: String?
    public var proxy: ProxySettings?
    public var http: HTTPDefaults
    /// How long the ledgers keep their rows (`retention:`).
    public var retention: RetentionSettings
    /// Failure notifications for every job (`notify:`); nil: none.
    public var notify: NotifySettings?

    public init(database: String? = nil, timezone: String? = nil, env: [String: String] = [:], secretsFile: String? = nil,
                proxy: ProxySettings? = nil, http: HTTPDefaults = HTTPDefaults(), retention: RetentionSettings = RetentionSettings()) {
        self.database = database
        self.timezone = timezone
        self.env = env
        self.secretsFile = secretsFile
        self.proxy = proxy
        self.http = http
        self.retention = retention
    }

    public static let defaultDatabase = "sheetsync.db"
}

/// The HTTP proxy used by jobs that set `proxy: true`.
public struct ProxySettings: Sendable, Hashable {
    /// `http://host:port`.
    public var url: Template
    public var username: Template?
    /// Use `{{secret.…}}`: the password is never logged.
    public var password: Template?

    public init(url: Template, username: Template? = nil, password: Template? = nil) {
        self.url = url
        self.username = username
        self.password = password
    }
}

/// Project-wide HTTP defaults.
public struct HTTPDefaults: Sendable, Hashable {
    public var maxResponseBytes: Int
    public var userAgent: String

    public static let defaultMaxResponseBytes = 64 * 1024 * 1024

    public init(maxResponseBytes: Int = HTTPDefaults.defaultMaxResponseBytes, userAgent: String = "sheetsync/0.1") {
        self.maxResponseBytes = maxResponseBytes
        self.userAgent = userAgent
    }
}
