import SheetSyncCore
import Yams

/// `notify:` of sheetsync.yml and of a job file.
extension NodeReader {
    static let notifyKeys = ["url", "on", "repeat_after", "attempts", "backoff"]

    func notify(_ node: Node, _ what: String) -> NotifySettings? {
        guard let map = mapping(node, context: what, allowed: Self.notifyKeys),
              let urlNode = required("url", in: map, hint: " (the webhook to post to, such as \"{{secret.SLACK_WEBHOOK_URL}}\")"),
              let url = template(urlNode, "\(what).url") else { return nil }
        for reference in url.references where reference.source != .env && reference.source != .secret {
            sink.error("'\(what).url' may use {{env.…}} and {{secret.…}} only, not '{{\(reference)}}'", at: urlNode.mark)
        }
        if url.isLiteral {
            sink.warning("'\(what).url' is written in the file; a webhook URL is a credential (anyone with it can post): use \"{{secret.NOTIFY_URL}}\" and set NOTIFY_URL in the environment or the secrets file", at: urlNode.mark)
        }
        var settings = NotifySettings(url: url)
        if let n = map.value("on"), let names = stringList(n, "\(what).on") {
            var events = Set<NotifySettings.Event>()
            for name in names {
                if let event = NotifySettings.Event(rawValue: name) { events.insert(event) } else {
                    sink.error("unknown event '\(name)' in '\(what).on'\(Suggestion.didYouMean(name, in: NotifySettings.Event.allCases.map(\.rawValue))) (events: failure, still_failing, recovery)", at: n.mark)
                }
            }
            settings.on = events
        }
        if let n = map.value("repeat_after"), let count = int(n, "\(what).repeat_after", range: 0...10_000) { settings.repeatAfter = count }
        if let n = map.value("attempts"), let count = int(n, "\(what).attempts", range: 1...100) { settings.attempts = count }
        if let n = map.value("backoff") {
            if let items = n.sequence {
                settings.backoff = items.compactMap { duration($0, "\(what).backoff") }
            } else {
                sink.error("expected a list of durations for '\(what).backoff', found \(describe(n))", at: n.mark)
            }
        }
        return settings
    }
}
