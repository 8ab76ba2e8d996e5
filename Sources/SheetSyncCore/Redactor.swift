/// Masks secret values in anything sheetsync prints, logs or records.
///
/// Secrets are matched as they are and percent-encoded (as they appear in URLs).
/// Values shorter than 4 characters are still masked; an empty value is ignored.
public struct Redactor: Sendable {
    public static let mask = "***"
    private let needles: [String]

    public init(secrets: some Sequence<String>) {
        var all = Set<String>()
        for secret in secrets where !secret.isEmpty {
            all.insert(secret)
            all.insert(PercentEncoding.encode(secret))
            all.insert(PercentEncoding.formEncode(secret))
        }
        // Longest first, so a secret containing another is masked whole.
        needles = all.sorted { $0.count > $1.count }
    }

    public func redact(_ text: String) -> String {
        var result = text
        for needle in needles where result.contains(needle) {
            result = result.replacingOccurrences(of: needle, with: Redactor.mask)
        }
        return result
    }
}
