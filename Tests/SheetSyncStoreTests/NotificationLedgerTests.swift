import Foundation
import Testing
import SheetSyncCore
@testable import SheetSyncStore

/// The failure-notification ledger: failures in a row, and one sender per message.
struct NotificationLedgerTests {
    @Test func failuresInARowCountBackToTheLastSuccess() throws {
        let file = TemporaryDatabase()
        let database = try WorksheetDatabase(path: file.path)
        try database.migrate([])
        var ids: [Int64] = []
        for status in [RunStatus.failed, .succeeded, .failed, .skipped, .failed, .interrupted, .failed] {
            let run = try database.beginRun(job: "j", trigger: .cli)
            try database.finishRun(run, status: status, counts: WriteCounts(), requests: 0)
            ids.append(run)
        }
        #expect(try database.failuresInARow(job: "j", upTo: ids[0]) == 1)
        #expect(try database.failuresInARow(job: "j", upTo: ids[1]) == 0)
        #expect(try database.failuresInARow(job: "j", upTo: ids[6]) == 3)  // skipped and interrupted pass over
        #expect(try database.failuresInARow(job: "other", upTo: ids[6]) == 0)
    }

    @Test func aDueMessageIsClaimedByOneSender() throws {
        let file = TemporaryDatabase()
        let database = try WorksheetDatabase(path: file.path)
        try database.migrate([])
        try database.queueNotification(job: "j", event: "failure", run: nil, payload: "{}")
        let now = WorksheetDatabase.timestamp(Date().addingTimeInterval(1))
        let due = try database.dueNotifications(now: now)
        try #require(due.count == 1)
        #expect(due[0].notificationID.hasPrefix("ntf_"))
        let later = WorksheetDatabase.timestamp(Date().addingTimeInterval(60))
        #expect(try database.claimNotification(due[0].id, now: now, until: later))
        #expect(try !database.claimNotification(due[0].id, now: now, until: later), "a second sender took it too")
        #expect(try database.dueNotifications(now: now).isEmpty)
    }
}
