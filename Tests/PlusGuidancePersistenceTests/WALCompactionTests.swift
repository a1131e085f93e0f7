import Foundation
import GRDB
@_spi(PlusGuidanceTools) import PlusGuidanceDomain
@_spi(PlusGuidanceTools) import PlusGuidancePersistence
import PlusGuidanceTesting
import Testing

/// The cache leaves no large WAL behind it (SQLiteCacheStore.compactWAL()): the first process
/// to open a cache nobody else has open rebuilds SQLite's WAL index from the whole WAL.
@Suite struct WALCompactionTests {
    private let history = SyntheticHistory(conversations: 5)

    private func walSize(_ path: String) throws -> Int {
        (try FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as? Int) ?? 0
    }

    /// Pages of 200 messages from message `start` on, `count` of them.
    private func pages(from start: Int, count: Int) -> [ChangePage] {
        (0..<count).map { page in
            let first = start + page * 200
            return ChangePage(
                changes: (first..<(first + 200)).map { .message(history.message($0)) },
                cursor: FeedCursor("c\(first + 199)"), hasMore: false)
        }
    }

    @Test func aLargeWALIsCopiedIntoTheDatabaseAndTruncatedAndNothingIsLost() async throws {
        let folder = try TemporaryFolder()
        let path = folder.path + "/cache.sqlite"
        var store = try SQLiteCacheStore(path: path, cipher: testCipher)
        // Page by page, as a feed arrives: each commit rewrites index pages into the WAL.
        for page in pages(from: 0, count: 60) { try await store.apply([page]) }
        let before = try walSize(path)
        #expect(before > 32 + SQLiteCacheStore.walCompactionFrames * (4_096 + 24))
        let latest = try await store.messages(in: history.relations[0].conversationID, limit: 50, before: nil)

        #expect(store.compactWAL())
        #expect(try walSize(path) == 0)
        #expect(!store.compactWAL(), "an empty WAL has nothing to compact")

        // Reopened by another store: every message is there, from the database file alone.
        try store.database.close()
        store = try SQLiteCacheStore(path: path, cipher: testCipher)
        #expect(try await store.messages(in: history.relations[0].conversationID, limit: 50, before: nil) == latest)
        let count = try await store.database.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM message") }
        #expect(count == 12_000)
    }

    @Test func aSmallWALIsLeftAsItIs() async throws {
        let folder = try TemporaryFolder()
        let path = folder.path + "/cache.sqlite"
        let store = try SQLiteCacheStore(path: path, cipher: testCipher)
        try await store.apply(pages(from: 0, count: 1))
        let before = try walSize(path)
        #expect(before > 0)
        #expect(!store.compactWAL())
        #expect(try walSize(path) == before)
    }

    @Test func aReaderOfAnOlderSnapshotDefersIt() async throws {
        let folder = try TemporaryFolder()
        let path = folder.path + "/cache.sqlite"
        let store = try SQLiteCacheStore(path: path, cipher: testCipher)
        for page in pages(from: 0, count: 60) { try await store.apply([page]) }
        // Another connection in a read transaction on the current snapshot, then a write after
        // it: the checkpoint cannot reset the WAL under that reader.
        let reader = try DatabaseQueue(path: path)
        try await reader.read { db in
            _ = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM message")
            try store.database.writeWithoutTransaction { try $0.execute(sql: "PRAGMA user_version = 7") }
            #expect(!store.compactWAL())
        }
        #expect(store.compactWAL(), "once the reader is done")
        #expect(try walSize(path) == 0)
    }
}
