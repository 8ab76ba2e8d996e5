import Foundation
import Testing
@testable import SheetSyncStore

/// The checkpointer's connection is opened with the pool's: a file removed while sheetsync
/// has it open is not recreated, empty, by a checkpoint asked for afterwards.
struct WALCheckpointerTests {
    @Test func aRemovedFileIsNotRecreatedByACheckpoint() throws {
        let file = TemporaryDatabase()
        let database = try WorksheetDatabase(path: file.path)
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: file.path + suffix) }
        try database.saveState(["cursor": "1"], job: "j")   // a write: asks for a checkpoint
        try database.close()                                // waits for it
        #expect(!FileManager.default.fileExists(atPath: file.path))
    }
}
