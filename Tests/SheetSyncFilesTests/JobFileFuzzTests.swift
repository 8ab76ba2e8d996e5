import Foundation
import Testing
@testable import SheetSyncCore
@testable import SheetSyncFiles

/// The job-file loader (YAML text → validated model) on randomly broken job files:
/// mutations of the repository's example jobs. It must never trap, and every problem
/// it reports must point into the file it names. The property-based stand-in for a
/// libFuzzer target (the loader needs Yams, which `scripts/fuzz`'s harness does not
/// build): `scripts/fuzz jobfile SECONDS` runs it for that long (SHEETSYNC_FUZZ_SECONDS),
/// `swift test` for a fixed 300 mutations.
struct JobFileFuzzTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// A small deterministic generator (SplitMix64), so a failure can be replayed from its seed.
    struct SplitMix: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static let fragments = ["{{", "}}", "{{env.", "{{record.", "$.", "$parent.", "[*]", "[-1]", ": ", "- ", "\n", "  ", "\t", "'", "\"",
                            "&anchor ", "*anchor", "!!binary ", "? ", "{", "}", "[", "]", ",", "#", "|\n", ">-\n", "~", "null", "0x1F",
                            "1e999", "9999999999999999999999", "-1", "é", "\u{0}", "@every 1e30s", "*/0 * * * *", "kind: push\n", "records: $\n"]

    static func mutate(_ text: String, _ random: inout SplitMix) -> String {
        var lines = text.components(separatedBy: "\n")
        for _ in 0..<Int.random(in: 1...4, using: &random) {
            guard !lines.isEmpty else { break }
            let index = Int.random(in: 0..<lines.count, using: &random)
            switch Int.random(in: 0..<6, using: &random) {
            case 0: lines.remove(at: index)
            case 1: lines.insert(lines[Int.random(in: 0..<lines.count, using: &random)], at: index)
            case 2: lines.swapAt(index, Int.random(in: 0..<lines.count, using: &random))
            case 3:
                var scalars = Array(lines[index].unicodeScalars)
                let at = scalars.isEmpty ? 0 : Int.random(in: 0...scalars.count, using: &random)
                scalars.insert(contentsOf: fragments.randomElement(using: &random)!.unicodeScalars, at: at)
                lines[index] = String(String.UnicodeScalarView(scalars))
            case 4:
                var scalars = Array(lines[index].unicodeScalars)
                if !scalars.isEmpty { scalars.remove(at: Int.random(in: 0..<scalars.count, using: &random)) }
                lines[index] = String(String.UnicodeScalarView(scalars))
            default:
                lines[index] = String(lines[index].prefix(Int.random(in: 0...max(0, lines[index].count), using: &random)))
            }
        }
        return lines.joined(separator: "\n")
    }

    @Test func brokenJobFilesNeverTrapAndPointIntoTheFile() throws {
        let jobs = try FileManager.default.contentsOfDirectory(atPath: Self.root.appendingPathComponent("jobs").path).filter { $0.hasSuffix(".yml") }.sorted()
        let sources = try jobs.map { try String(contentsOf: Self.root.appendingPathComponent("jobs/\($0)"), encoding: .utf8) }
        #expect(sources.count >= 4)
        var files = TestProject.baseFiles
        for name in try FileManager.default.contentsOfDirectory(atPath: Self.root.appendingPathComponent("schema").path) {
            files["schema/\(name)"] = try String(contentsOf: Self.root.appendingPathComponent("schema/\(name)"), encoding: .utf8)
        }
        let project = try TestProject(files: files)
        try FileManager.default.createDirectory(at: project.directory.appendingPathComponent("jobs"), withIntermediateDirectories: true)
        let seconds = ProcessInfo.processInfo.environment["SHEETSYNC_FUZZ_SECONDS"].flatMap(Double.init)
        let deadline = Date().addingTimeInterval(seconds ?? 0)
        var random = SplitMix(state: UInt64(ProcessInfo.processInfo.environment["SHEETSYNC_FUZZ_SEED"] ?? "") ?? 2026)
        var runs = 0
        var withErrors = 0
        let environment = ["SHOP_URL": "http://127.0.0.1:9", "SHOP_TOKEN": "t", "ERP_URL": "http://127.0.0.1:9", "ERP_TOKEN": "t", "ERP_SIGNING": "s"]
        while seconds == nil ? runs < 300 : Date() < deadline {
            let index = Int.random(in: 0..<sources.count, using: &random)
            let text = Self.mutate(sources[index], &random)
            let path = project.directory.appendingPathComponent("jobs/fuzz.yml")
            try text.write(to: path, atomically: false, encoding: .utf8)
            let loaded = ProjectLoader.load(directory: project.directory, environment: environment)
            let lineCount = text.components(separatedBy: "\n").count
            for diagnostic in loaded.diagnostics where diagnostic.file == "jobs/fuzz.yml" {
                #expect(diagnostic.line >= 1 && diagnostic.line <= lineCount + 1, "line \(diagnostic.line) of \(lineCount): \(diagnostic)\n\(text)")
                #expect(!diagnostic.message.isEmpty)
            }
            if loaded.errors.contains(where: { $0.file == "jobs/fuzz.yml" }) { withErrors += 1 }
            runs += 1
        }
        // The mutations must mostly break something, or they test nothing.
        #expect(withErrors > runs / 4, "\(withErrors) of \(runs) mutated files had errors")
        print("job-file fuzzing: \(runs) mutated files, \(withErrors) with errors")
    }
}
