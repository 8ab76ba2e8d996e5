import Foundation
import Testing
import SheetSyncCore
import SheetSyncTesting
@testable import SheetSyncStore

/// The failure-notification ledger: failures in a row, and one sender per message. On both stores.
struct NotificationLedgerTests {
    @Test(arguments: Backend.allCases)
    func failuresInARowCountBackToTheLastSuccess(backend: Backend) throws {
        let file = try StoreFixture(backend)
        let database = file.store
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

    @Test(arguments: Backend.allCases)
    func aDueMessageIsClaimedByOneSender(backend: Backend) throws {
        let file = try StoreFixture(backend)
        let database = file.store
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
