import Foundation
import SheetSyncCore
import Yams

/// Where `{{secret.X}}` values come from: the environment first, then the secrets
/// file named in sheetsync.yml. Secret values are held here and nowhere else; the
/// rest of the program asks for them by name and redacts them from all output.
public struct SecretStore: Sendable {
    private let environment: [String: String]
    private let fileValues: [String: String]

    public init(environment: [String: String], fileValues: [String: String] = [:]) {
        self.environment = environment
        self.fileValues = fileValues
    }

    /// The secret named `name`, or `nil` when neither source has it.
    public func value(_ name: String) -> String? {
        environment[name] ?? fileValues[name]
    }

    public func has(_ name: String) -> Bool { value(name) != nil }

    /// The values of the named secrets that are set, longest first (so that a secret
    /// containing another is masked whole), for redacting output.
    public func values(named names: some Sequence<String>) -> [String] {
        Set(names.compactMap(value)).filter { !$0.isEmpty }.sorted { $0.count > $1.count }
    }

    /// Reads a secrets file: a YAML mapping of `NAME: value`. The file must not be
    /// readable by group or others (mode 0600), like an SSH key; when it is a symlink,
    /// that holds for the file it points to.
    static func loadFile(at url: URL, displayName: String) -> (values: [String: String], diagnostics: [Diagnostic]) {
        let sink = DiagnosticSink(file: displayName)
        guard FileManager.default.fileExists(atPath: url.path) else {
            sink.error("secrets file '\(displayName)' named in sheetsync.yml does not exist; create it with mode 0600 or remove 'secrets_file'", at: nil)
            return ([:], sink.diagnostics)
        }
        // The mode that matters is the target's: a symlink's own mode is always 777,
        // and the file read through it is the target (attributesOfItem does not follow).
        let isSymlink = (try? FileManager.default.destinationOfSymbolicLink(atPath: url.path)) != nil
        let target = isSymlink ? url.resolvingSymlinksInPath() : url
        if let attributes = try? FileManager.default.attributesOfItem(atPath: target.path),
           let mode = (attributes[.posixPermissions] as? NSNumber)?.intValue, mode & 0o077 != 0 {
            let octal = String(mode & 0o777, radix: 8)
            if isSymlink {
                sink.error("secrets file '\(displayName)' is a symlink to '\(target.path)', which is readable by other users (mode \(octal)); run 'chmod 600 \(target.path)'", at: nil)
            } else {
                sink.error("secrets file '\(displayName)' is readable by other users (mode \(octal)); run 'chmod 600 \(displayName)'", at: nil)
            }
            return ([:], sink.diagnostics)
        }
        guard let text = try? String(contentsOf: url, encoding: .utf8) else {
            sink.error("cannot read secrets file '\(displayName)'; check that it is UTF-8 text", at: nil)
            return ([:], sink.diagnostics)
        }
        let fileSink = sink
        let reader = NodeReader(sink: fileSink)
        var values: [String: String] = [:]
        if let root = fileSink.compose(text), !reader.isNull(root) {
            if let pairs = root.mapping {
                for (key, value) in pairs {
                    // Never echo the value in a message: only the name and position.
                    if let name = key.scalar?.string, let secret = value.scalar?.string {
                        values[name] = secret
                    } else {
                        fileSink.error("expected 'NAME: value' lines in the secrets file", at: key.mark)
                    }
                }
            } else {
                fileSink.error("expected 'NAME: value' lines in the secrets file", at: root.mark)
            }
        }
        return (values, sink.diagnostics)
    }
}
