import Foundation
import Testing

/// The database file is shared: readers (the `sqlite3` shell, `sheetsync query`) and
/// other writers use it while a sync runs, and the disk may run out. Nothing may fail
/// for the readers, nothing may be lost, and a failed write must leave the file intact.
@Suite(.serialized) struct ConcurrentUseTests {
    static let orders = 3_000
    static let pageSize = 100
    static let job = job(pageSize: pageSize, delay: "30ms")

    static func job(pageSize: Int, delay: String) -> String { """
        kind: pull
        worksheet: orders
        request:
          url: "{{env.SHOP_URL}}/v1/orders"
          headers: { Authorization: "Bearer {{secret.SHOP_TOKEN}}" }
        paginate: { style: page, size_param: per_page, size: \(pageSize), has_more: $.has_more, delay: \(delay) }
        records: $.data
        fields: { id: $.id, status: $.status, total: $.amount.value, updated_at: $.updated_at }
        children:
          - worksheet: order_items
            records: $.items
            fields: { order_id: $parent.id, sku: $.sku, quantity: $.quantity }
        """
    }

    /// `sheetsync demo serve` with `orders` orders; returns the process and its URL.
    func startShop(orders: Int) async throws -> (Process, String) {
        let serve = Process()
        serve.executableURL = CLI.binary
        serve.arguments = ["demo", "serve", "--port", "0", "--orders", String(orders), "--seed", "5"]
        let out = Pipe()
        serve.standardOutput = out
        serve.standardError = FileHandle.nullDevice
        try serve.run()
        // Waiting for the shop's first line blocks: do it off Swift concurrency's threads.
        let handle = out.fileHandleForReading
        nonisolated(unsafe) let reader = handle
        let line = await offPool { String(decoding: reader.availableData, as: UTF8.self) }
        guard let url = line.split(separator: " ").first(where: { $0.hasPrefix("http://127.0.0.1:") })
            .map({ String($0.trimmingCharacters(in: CharacterSet(charactersIn: ";"))) }) else {
            serve.terminate()
            throw CocoaError(.fileReadUnknown)
        }
        return (serve, url)
    }

    func project(job: String = ConcurrentUseTests.job) throws -> ProjectDirectory {
        var files: [String: String] = ["jobs/orders.yml": job]
        for name in try FileManager.default.contentsOfDirectory(atPath: CrashRecoveryTests.schema.path) {
            files["schema/\(name)"] = try String(contentsOf: CrashRecoveryTests.schema.appendingPathComponent(name), encoding: .utf8)
        }
        return try ProjectDirectory(files: files)
    }

    /// Starts `sheetsync run orders` without waiting for it.
    func startRun(_ project: ProjectDirectory, shop: String, shell prefix: String? = nil) throws -> (Process, Pipe) {
        let process = Process()
        let err = Pipe()
        var environment = ProcessInfo.processInfo.environment
        environment["SHOP_URL"] = shop
        environment["SHOP_TOKEN"] = "demo-token"
        environment["SHEETSYNC_DB"] = nil
        process.environment = environment
        if let prefix {
            process.executableURL = URL(fileURLWithPath: "/bin/bash")
            process.arguments = ["-c", "\(prefix); exec \"$0\" run orders --project \"$1\"", CLI.binary.path, project.url.path]
        } else {
            process.executableURL = CLI.binary
            process.arguments = ["run", "orders", "--project", project.url.path]
        }
        // stdout and stderr together: the run's summary line and its log.
        process.standardOutput = err
        process.standardError = err
        try process.run()
        return (process, err)
    }

    static func sqlite3(_ path: String, _ script: String) throws -> CLIResult {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["sqlite3", path]
        let input = Pipe(), out = Pipe(), err = Pipe()
        process.standardInput = input
        process.standardOutput = out
        process.standardError = err
        try process.run()
        input.fileHandleForWriting.write(Data(script.utf8))
        try input.fileHandleForWriting.close()
        let output = out.fileHandleForReading.readDataToEndOfFile()
        let errors = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return CLIResult(status: process.terminationStatus, stdout: String(decoding: output, as: UTF8.self), stderr: String(decoding: errors, as: UTF8.self))
    }

    /// With SHEETSYNC_HEAVY=1 (`.ci/run` runs it alone, after the suite): 63,000 orders
    /// with their line items, about 200,000 rows, in pages of 500. Otherwise 3,000 orders
    /// in pages of 100, so that it does not starve the timing-sensitive tests beside it.
    @Test func readersSeeOnlyCommittedPagesAndNeverFail() async throws {
        let heavy = ProcessInfo.processInfo.environment["SHEETSYNC_HEAVY"] == "1"
        let orders = heavy ? 63_000 : Self.orders, pageSize = heavy ? 500 : Self.pageSize
        let (shop, url) = try await startShop(orders: orders)
        defer { shop.terminate() }
        // 100 ms between pages (30 at 30 ms made a run of about a second, and a loaded CI run
        // had its readers start only as it ended: 4 reads), so readers overlap the sync.
        let project = try project(job: Self.job(pageSize: pageSize, delay: heavy ? "0s" : "100ms"))
        let database = project.url.appendingPathComponent("sheetsync.db").path
        #expect(try CLI.run(["migrate", "--project", project.url.path]).status == 0)

        let (run, runErrors) = try startRun(project, shop: url)
        // One statement, one snapshot: orders and the orders their items belong to.
        let sql = "SELECT (SELECT count(*) FROM orders) || ',' || (SELECT count(DISTINCT order_id) FROM order_items)"
        let collected = Collected()
        let group = DispatchGroup()
        nonisolated(unsafe) let running = run
        let projectPath = project.url.path
        for index in 0..<4 {
            group.enter()
            DispatchQueue.global().async {
                defer { group.leave() }
                var first = true
                while running.isRunning || first {
                    first = false
                    let result: CLIResult
                    do {
                        if index % 2 == 0 {
                            result = try ConcurrentUseTests.sqlite3(database, ".timeout 10000\n\(sql);\n")
                        } else {
                            let query = try CLI.run(["query", sql, "--format", "csv", "--project", projectPath],
                                                    environment: ["SHOP_URL": url, "SHOP_TOKEN": "demo-token"])
                            let value = csvValue(query.stdout).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
                            result = CLIResult(status: query.status, stdout: value, stderr: query.stderr)
                        }
                    } catch {
                        result = CLIResult(status: -1, stdout: "", stderr: "\(error)")
                    }
                    collected.append(result)
                    usleep(20_000)
                }
            }
        }
        await offPool { running.waitUntilExit() }
        let runStderr = String(decoding: runErrors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(run.terminationStatus == 0, "\(runStderr)")
        await offPool { group.wait() }
        var reads = 0
        do {
            for result in collected.all {
                reads += 1
                #expect(result.status == 0 && result.stderr.isEmpty, "a reader failed: \(result.stderr)")
                let counts = result.stdout.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ",").compactMap { Int($0) }
                #expect(counts.count == 2, "\(result.stdout)")
                if counts.count == 2 {
                    // Whole pages only, and never an order without its items or items without their order.
                    #expect(counts[0] % pageSize == 0 || counts[0] == orders, "a reader saw \(counts[0]) orders: part of a page")
                    #expect(counts[0] == counts[1], "a reader saw \(counts[0]) orders but items of \(counts[1])")
                }
            }
        }
        #expect(reads >= 8, "only \(reads) reads happened during the run")
        let rows = try Self.sqlite3(database, "SELECT (SELECT count(*) FROM orders) + (SELECT count(*) FROM order_items);\n").stdout
        if heavy { #expect((Int(rows.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0) > 195_000, "\(rows) rows") }
        #expect(try Self.sqlite3(database, "SELECT count(*) FROM orders;\n").stdout == "\(orders)\n")
        print("concurrent readers: \(reads) reads during a sync of \(rows.trimmingCharacters(in: .whitespacesAndNewlines)) rows")
    }

    @Test func aWriterHoldingTheLockDelaysTheSyncButLosesNothing() async throws {
        let (shop, url) = try await startShop(orders: Self.orders)
        defer { shop.terminate() }
        let project = try project()
        let database = project.url.appendingPathComponent("sheetsync.db").path
        #expect(try CLI.run(["migrate", "--project", project.url.path]).status == 0)
        #expect(try Self.sqlite3(database, "CREATE TABLE notes (text TEXT);\n").status == 0)

        let (run, runErrors) = try startRun(project, shop: url)
        try await Task.sleep(for: .milliseconds(300))
        // A user's write transaction held for 2 seconds while pages keep coming.
        let held = try await offPool { try Self.sqlite3(database, ".timeout 10000\nBEGIN IMMEDIATE;\nINSERT INTO notes VALUES ('held for 2 s');\n.shell sleep 2\nCOMMIT;\n") }
        nonisolated(unsafe) let running = run
        await offPool { running.waitUntilExit() }
        let runStderr = String(decoding: runErrors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(held.status == 0, "\(held.stderr)")
        #expect(run.terminationStatus == 0, "\(runStderr)")
        #expect(try Self.sqlite3(database, "SELECT count(*) FROM orders; SELECT text FROM notes;\n").stdout == "\(Self.orders)\nheld for 2 s\n")
    }

    @Test func aFileSizeLimitEndsTheRunClearlyAndTheDatabaseStaysIntact() async throws {
        let (shop, url) = try await startShop(orders: Self.orders)
        defer { shop.terminate() }
        let project = try project()
        let database = project.url.appendingPathComponent("sheetsync.db").path
        #expect(try CLI.run(["migrate", "--project", project.url.path]).status == 0)

        // 512 KiB per file: the pages do not fit.
        let (run, runErrors) = try startRun(project, shop: url, shell: "ulimit -f 512")
        nonisolated(unsafe) let running = run
        await offPool { running.waitUntilExit() }
        let stderr = String(decoding: runErrors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(run.terminationReason == .exit, "killed by a signal instead of failing: \(stderr)")
        #expect(run.terminationStatus == 1, "\(stderr)")
        #expect(stderr.contains("file size limit"), "\(stderr)")

        #expect(try Self.sqlite3(database, "PRAGMA integrity_check;\n").stdout == "ok\n")
        let committed = Int(try Self.sqlite3(database, "SELECT count(*) FROM orders;\n").stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
        #expect(committed >= 0 && committed < Self.orders && committed % Self.pageSize == 0, "\(committed) orders after the failed run")
        // With room again, the next run completes.
        let (again, againErrors) = try startRun(project, shop: url)
        nonisolated(unsafe) let rerun = again
        await offPool { rerun.waitUntilExit() }
        #expect(again.terminationStatus == 0, "\(String(decoding: againErrors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))")
        #expect(try Self.sqlite3(database, "SELECT count(*) FROM orders;\n").stdout == "\(Self.orders)\n")
    }
}

/// Results gathered by reader threads.
final class Collected: @unchecked Sendable {
    private let lock = NSLock()
    private var results: [CLIResult] = []

    func append(_ result: CLIResult) {
        lock.lock()
        results.append(result)
        lock.unlock()
    }

    var all: [CLIResult] {
        lock.lock()
        defer { lock.unlock() }
        return results
    }
}

/// Runs blocking work (waiting for a process, a lock held 2 s) on a dispatch thread, so
/// that it does not hold one of Swift concurrency's few threads: the tests running
/// beside this suite in the same process need them (timing-sensitive push tests stalled).
func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global().async { continuation.resume(with: Result { try body() }) }
    }
}

func offPool<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        DispatchQueue.global().async { continuation.resume(returning: body()) }
    }
}
