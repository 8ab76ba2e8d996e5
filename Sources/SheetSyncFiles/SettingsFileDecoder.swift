import Foundation
import SheetSyncCore
import Yams

/// Decodes `sheetsync.yml`:
///
/// ```yaml
/// database: data/shop.db            # default sheetsync.db
/// timezone: Europe/Berlin           # default UTC
/// secrets_file: .secrets.yml        # NAME: value lines, mode 0600
/// env: { SHOP_URL: "http://127.0.0.1:8080" }   # defaults for {{env.X}}
/// proxy: { url: "http://proxy:3128", username: me, password: "{{secret.PROXY_PASSWORD}}" }
/// http: { max_response_bytes: 64MiB, user_agent: "sheetsync/0.1" }
/// retention: { requests: 30d, runs: 90d, rejects: 90d, deliveries: 90d, step_failures: 90d }   # or 'forever'
/// ```
struct SettingsFileDecoder {
    static let rootKeys = ["database", "timezone", "secrets_file", "env", "proxy", "http", "retention", "notify"]
    static let proxyKeys = ["url", "username", "password"]
    static let httpKeys = ["max_response_bytes", "user_agent"]

    let reader: NodeReader
    var sink: DiagnosticSink { reader.sink }

    init(sink: DiagnosticSink) {
        self.reader = NodeReader(sink: sink)
    }

    func decode(_ text: String) -> ProjectSettings {
        var settings = ProjectSettings()
        guard let root = sink.compose(text), !reader.isNull(root),
              let map = reader.mapping(root, context: "", allowed: Self.rootKeys) else { return settings }
        settings.database = map.value("database").flatMap { reader.string($0, "database") }
        if let n = map.value("timezone"), let zone = reader.string(n, "timezone") {
            if Foundation.TimeZone(identifier: zone) == nil {
                sink.error("unknown time zone '\(zone)'; use an IANA name such as 'Europe/Berlin' or 'UTC'", at: n.mark)
            } else {
                settings.timezone = zone
            }
        }
        settings.secretsFile = map.value("secrets_file").flatMap { reader.string($0, "secrets_file") }
        if let n = map.value("env") {
            if let pairs = n.mapping {
                for (key, value) in pairs {
                    if let name = key.scalar?.string, let text = reader.string(value, "env.\(name)") { settings.env[name] = text }
                }
            } else {
                sink.error("expected a mapping of variable names to values for 'env', found \(reader.describe(n))", at: n.mark)
            }
        }
        if let n = map.value("proxy"), let proxyMap = reader.mapping(n, context: "proxy", allowed: Self.proxyKeys),
           let urlNode = reader.required("url", in: proxyMap), let url = reader.template(urlNode, "proxy.url") {
            let password = proxyMap.value("password").flatMap { reader.template($0, "proxy.password") }
            if let password, password.isLiteral, !password.text.isEmpty, let node = proxyMap.value("password") {
                sink.error("'proxy.password' is a literal; use a secret such as '{{secret.PROXY_PASSWORD}}'", at: node.mark)
            }
            settings.proxy = ProxySettings(url: url, username: proxyMap.value("username").flatMap { reader.template($0, "proxy.username") },
                                           password: password)
        }
        if let n = map.value("http"), let httpMap = reader.mapping(n, context: "http", allowed: Self.httpKeys) {
            if let b = httpMap.value("max_response_bytes"), let size = reader.byteSize(b, "http.max_response_bytes") { settings.http.maxResponseBytes = size }
            if let u = httpMap.value("user_agent"), let agent = reader.string(u, "http.user_agent") { settings.http.userAgent = agent }
        }
        if let n = map.value("retention"), let retentionMap = reader.mapping(n, context: "retention", allowed: RetentionSettings.keys) {
            for key in RetentionSettings.keys {
                guard let node = retentionMap.value(key) else { continue }
                if let value = retention(node, "retention.\(key)") { settings.retention[key] = value }
            }
        }
        if let n = map.value("notify") { settings.notify = reader.notify(n, "notify") }
        return settings
    }

    /// A retention: a duration longer than zero (`30d`, `12h`), or `forever` (nil inside).
    private func retention(_ node: Node, _ what: String) -> Duration?? {
        guard let text = reader.string(node, what) else { return nil }
        if text == "forever" { return .some(nil) }
        if let duration = try? DurationText.parse(text), duration > .zero { return .some(duration) }
        sink.error("expected a duration such as '30d' or '12h', or 'forever', for '\(what)', found '\(text)'", at: node.mark)
        return nil
    }
}

