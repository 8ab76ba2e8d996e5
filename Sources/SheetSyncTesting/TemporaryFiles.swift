import Foundation

/// A fresh directory under the system's temporary directory; the caller removes it.
public func temporaryDirectory(prefix: String = "sheetsync-test") throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// A fresh temporary directory holding `files` (relative path → text), such as a
/// project's sheetsync.yml, schema/ and jobs/ files.
public func temporaryDirectory(prefix: String = "sheetsync-test", files: [String: String]) throws -> URL {
    let directory = try temporaryDirectory(prefix: prefix)
    for (path, text) in files {
        let url = directory.appendingPathComponent(path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try text.write(to: url, atomically: true, encoding: .utf8)
    }
    return directory
}
