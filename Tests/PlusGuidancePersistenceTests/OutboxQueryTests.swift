import Foundation
import GRDB
@_spi(PlusGuidanceTools) import PlusGuidanceDomain
@_spi(PlusGuidanceTools) import PlusGuidancePersistence
import PlusGuidanceTesting
import Testing

/// The outbox queries the sync engine uses so it never decodes the whole outbox per action.
@Suite struct OutboxQueryTests {
    func entry(_ key: String, _ action: OutboxAction, state: OutboxEntry.State = .pending) -> OutboxEntry {
        var entry = OutboxEntry(id: IdempotencyKey(key), action: action, enqueuedAt: Fixtures.epoch + Double(key.count))
        if state != .pending {
            entry.beginAttempt()
            entry.failPermanently(OutboxFailure(code: "offer_expired", reason: "expired"))
        }
        return entry
    }

    @Test func anEntryKnowsWhetherItWaitsBehindAnEarlierMessageOfItsConversation() async throws {
        let folder = try TemporaryFolder()
        let outbox = try SQLiteOutboxStore(path: folder.path + "/outbox.sqlite", cipher: testCipher)
        _ = try await outbox.enqueue(entry("a1", .sendMessage(Fixtures.message("m1", in: Fixtures.theoAlice))))
        _ = try await outbox.enqueue(entry("b1", .sendMessage(Fixtures.message("m2", in: Fixtures.theoBob))))
        _ = try await outbox.enqueue(entry("a2", .sendMessage(Fixtures.message("m3", in: Fixtures.theoAlice))))
        _ = try await outbox.enqueue(entry("x", .acceptOffer("o1")))
        #expect(try await outbox.isQueuedBehindAnother("a1") == false)
        #expect(try await outbox.isQueuedBehindAnother("b1") == false)
        #expect(try await outbox.isQueuedBehindAnother("a2") == true)
        #expect(try await outbox.isQueuedBehindAnother("x") == false)
        #expect(try await outbox.entries(in: Fixtures.theoAlice.conversationID).map(\.id) == ["a1", "a2"])
        #expect(try await outbox.entries(in: Fixtures.theoBob.conversationID).map(\.id) == ["b1"])
        try await outbox.remove("a1")
        #expect(try await outbox.isQueuedBehindAnother("a2") == false)
    }

    @Test func aRoundOverALongQueueWaitingForABackoffReadsOneEntryPerConversation() async throws {
        let folder = try TemporaryFolder()
        let outbox = try SQLiteOutboxStore(path: folder.path + "/outbox.sqlite", cipher: testCipher)
        let retryAt = Fixtures.epoch + 30
        for index in 0..<300 {
            var queued = try await outbox.enqueue(
                entry("a\(index)", .sendMessage(Fixtures.message("m\(index)", in: Fixtures.theoAlice))))
            // Offline: each one waits behind the outage, as the sender defers a round.
            queued.deferBehindOutage(OutboxFailure(code: "cannot_connect", reason: "refused"), retryAt: retryAt)
            try await outbox.update(queued, durably: false)
        }
        _ = try await outbox.enqueue(entry("b", .sendMessage(Fixtures.message("n1", in: Fixtures.theoBob))))
        _ = try await outbox.enqueue(entry("x", .acceptOffer("o1")))
        #expect(try await outbox.deliveryCandidates(at: Fixtures.epoch).map(\.id) == ["a0", "b", "x"])
        #expect(try await outbox.earliestRetry() == retryAt)
        // Once the backoff is over, the whole conversation is due.
        #expect(try await outbox.deliveryCandidates(at: retryAt).count == 302)
    }

    @Test func theSummaryCountsWithoutReadingEntries() async throws {
        let folder = try TemporaryFolder()
        let outbox = try SQLiteOutboxStore(path: folder.path + "/outbox.sqlite", cipher: testCipher)
        #expect(try await outbox.summary() == OutboxSummary(pending: 0, failed: 0, oldestPendingSince: nil))
        _ = try await outbox.enqueue(entry("failed", .acceptOffer("o1"), state: .failed))
        _ = try await outbox.enqueue(entry("a", .declineOffer("o2")))
        _ = try await outbox.enqueue(entry("bbb", .stopSession("s1")))
        #expect(
            try await outbox.summary()
                == OutboxSummary(pending: 2, failed: 1, oldestPendingSince: Fixtures.epoch + 1))
    }

    @Test func theEnginesBookkeepingSkipsTheFsyncButTheNextUserActionIsDurableAgain() async throws {
        let folder = try TemporaryFolder()
        let outbox = try SQLiteOutboxStore(path: folder.path + "/outbox.sqlite", cipher: testCipher)
        var queued = try await outbox.enqueue(entry("a", .declineOffer("o1")))
        queued.beginAttempt()
        try await outbox.update(queued, durably: false)
        #expect(try await outbox.entry("a")?.state == .inFlight)
        try await outbox.remove("a", durably: false)
        #expect(try await outbox.entries().isEmpty)
        // FULL is 2 (sqlite.org/pragma.html#pragma_synchronous), back on the writer connection.
        #expect(try await outbox.database.write { try Int.fetchOne($0, sql: "PRAGMA synchronous") } == 2)
    }

    @Test func anOutboxWrittenBeforeTheConversationColumnIsBackfilledOnOpen() async throws {
        let folder = try TemporaryFolder()
        let path = folder.path + "/outbox.sqlite"
        do {
            // Written as before encryption: the actions in clear.
            let outbox = try SQLiteOutboxStore(path: path, cipher: .unencrypted)
            _ = try await outbox.enqueue(entry("a1", .sendMessage(Fixtures.message("m1", in: Fixtures.theoAlice))))
            _ = try await outbox.enqueue(entry("a2", .sendMessage(Fixtures.message("m2", in: Fixtures.theoAlice))))
            try outbox.database.close()
        }
        // Make it the file an earlier version wrote: no column, no indexes, migrations 0002,
        // 0004 (sealing) and 0005 (the waiting indexes) not run.
        let downgrade = try await run([
            "sqlite3", path,
            "DROP INDEX outbox_by_conversation; DROP INDEX outbox_waiting; DROP INDEX outbox_deadline; "
                + "DROP INDEX outbox_retry; "
                + "ALTER TABLE outbox DROP COLUMN conversationID; DELETE FROM grdb_migrations "
                + "WHERE identifier IN ('0002-conversation', '0004-sealed-actions', '0005-waiting');",
        ])
        #expect(downgrade.status == 0)
        let reopened = try SQLiteOutboxStore(path: path, cipher: testCipher)
        #expect(try await reopened.isQueuedBehindAnother("a2") == true)
        #expect(try await reopened.entries().map(\.id) == ["a1", "a2"])
    }
}
