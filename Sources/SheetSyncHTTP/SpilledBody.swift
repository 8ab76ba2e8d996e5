import Foundation
import SheetSyncCore

/// A response body written to a temporary file instead of memory.
///
/// Bodies larger than `HTTPTransport.spillBytes` are spilled as they arrive, so a
/// 200 MB response costs disk, not memory, and is then read in chunks by the record
/// splitter. The file is created with mode 0600 in the temporary directory (`TMPDIR`)
/// and removed when the last reference goes; a process killed meanwhile leaves it
/// there (named `sheetsync-body-*`).
public final class SpilledBody: Sendable {
    public let path: String
    public let count: Int
    /// FNV-1a of the bytes, so pagination can tell two identical bodies apart cheaply.
    public let digest: UInt64

    init(path: String, count: Int, digest: UInt64) {
        self.path = path
        self.count = count
        self.digest = digest
    }

    deinit {
        unlink(path)
    }

    /// Calls `body` with successive chunks of the file.
    public func forEachChunk(size: Int = 1 << 20, _ body: (UnsafeBufferPointer<UInt8>) throws -> Void) throws {
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else { throw HTTPStepError(.connection, "unable to read the spilled response body at \(path): \(String(cString: strerror(errno)))") }
        defer { close(descriptor) }
        var buffer = [UInt8](repeating: 0, count: size)
        while true {
            let read = buffer.withUnsafeMutableBytes { Foundation.read(descriptor, $0.baseAddress, size) }
            if read < 0 { throw HTTPStepError(.connection, "unable to read the spilled response body at \(path): \(String(cString: strerror(errno)))") }
            if read == 0 { return }
            try buffer.withUnsafeBufferPointer { try body(UnsafeBufferPointer(rebasing: $0[0..<read])) }
        }
    }

    func readAll() throws(HTTPStepError) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(count)
        do {
            try forEachChunk { bytes.append(contentsOf: $0) }
        } catch let error as HTTPStepError {
            throw error
        } catch {
            throw HTTPStepError(.connection, "\(error)")
        }
        return bytes
    }
}

/// Collects a body: in memory up to a threshold, then in a temporary file.
struct BodyCollector {
    let spillBytes: Int
    private(set) var bytes: [UInt8] = []
    private var descriptor: Int32 = -1
    private var path: String?
    private var count = 0
    private var digest: UInt64 = 0xcbf2_9ce4_8422_2325

    init(spillBytes: Int, expected: Int?) {
        self.spillBytes = spillBytes
        if let expected, expected <= spillBytes { bytes.reserveCapacity(expected) }
    }

    mutating func append(_ chunk: UnsafeRawBufferPointer) throws {
        count += chunk.count
        if descriptor < 0, bytes.count + chunk.count <= spillBytes {
            bytes.append(contentsOf: chunk)
            return
        }
        if descriptor < 0 {
            try openFile()
            let held = bytes
            bytes = []
            try held.withUnsafeBytes { (buffer) throws in try write(buffer) }
        }
        try write(chunk)
    }

    private mutating func openFile() throws {
        let directory = ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        let candidate = "\(directory)/sheetsync-body-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        let opened = open(candidate, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard opened >= 0 else {
            throw HTTPStepError(.connection, "unable to write a large response body to \(candidate): \(String(cString: strerror(errno))); set TMPDIR to a writable directory with room")
        }
        descriptor = opened
        path = candidate
    }

    private mutating func write(_ buffer: UnsafeRawBufferPointer) throws {
        for byte in buffer { digest = (digest ^ UInt64(byte)) &* 0x100_0000_01b3 }
        var offset = 0
        while offset < buffer.count {
            let written = Foundation.write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                let reason = String(cString: strerror(errno))
                close(descriptor)
                descriptor = -1
                if let path { unlink(path) }
                throw HTTPStepError(.connection, "unable to write a large response body to \(path ?? "?"): \(reason); set TMPDIR to a directory with room")
            }
            offset += written
        }
    }

    /// The body: in memory, or the spilled file.
    mutating func finish() throws -> (bytes: [UInt8], spilled: SpilledBody?) {
        guard descriptor >= 0, let path else { return (bytes, nil) }
        close(descriptor)
        descriptor = -1
        return ([], SpilledBody(path: path, count: count, digest: digest))
    }

    /// Removes a half-written file after a failure.
    mutating func discard() {
        if descriptor >= 0 { close(descriptor); descriptor = -1 }
        if let path { unlink(path) }
        path = nil
    }
}
