import Foundation
import GRDB
@_spi(PlusGuidanceTools) import PlusGuidanceDomain
@_spi(PlusGuidanceTools) import PlusGuidancePersistence
import PlusGuidanceTesting
import Testing

/// A first sync builds the conversation index after its last page instead of row by row (#14):
/// the index is missing only between a first sync's first commit and its last, a sync stopped
/// half-way still ends indexed, and every read answers the same with or without it.
@Suite struct FirstSyncIndexTests {
    private let history = SyntheticHistory(conversations: 7)

    /// `count` pages of 50 messages from message `start` on; the last says whether more follow.
    private func pages(from start: Int, count: Int, more: Bool) -> [ChangePage] {
        (0..<count).map { page in
            let first = start + page * 50
            return ChangePage(
                changes: (first..<(first + 50)).map { .message(history.message($0)) },
                cursor: FeedCursor("c\(first + 49)"),
                hasMore: more || page < count - 1)
        }
    }

    private func hasIndex(_ store: SQLiteCacheStore) throws -> Bool {
        try store.database.read { db in
            try Bool.fetchOne(
                db, sql: "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE name = 'message_by_conversation')")!
        }
    }

    /// The writer's page cache, in KiB (the pragma's negative form).
    private func writerCacheKiB(_ store: SQLiteCacheStore) async throws -> Int {
        -(try await store.database.writeWithoutTransaction { try Int.fetchOne($0, sql: "PRAGMA cache_size") ?? 0 })
    }

    /// The newest 20 of every conversation, and the page before the newest 20.
    private func reads(_ store: any CacheStore) async throws -> [[Message]] {
        var reads: [[Message]] = []
        for relation in history.relations {
            let latest = try await store.messages(in: relation.conversationID, limit: 20, before: nil)
            reads.append(latest)
            reads.append(try await store.messages(in: relation.conversationID, limit: 20, before: latest.last?.id))
        }
        return reads
    }

    @Test func aFirstSyncStoppedHalfWayEndsIndexedAndReadsTheSameMeanwhile() async throws {
        let folder = try TemporaryFolder()
        let path = folder.path + "/cache.sqlite"
        let expected = InMemoryCacheStore()
        var store = try SQLiteCacheStore(path: path, cipher: testCipher)
        #expect(try hasIndex(store))

        let first = pages(from: 0, count: 3, more: true)
        try await store.apply(first)
        await expected.apply(first)
        #expect(try !hasIndex(store), "a first sync's first commit defers the index")
        #expect(try await writerCacheKiB(store) == 2_048)
        #expect(try await reads(store) == reads(expected))
        #expect(try await store.syncState().cursor == FeedCursor("c149"))

        // The process stops; the next one resumes the same first sync.
        store = try SQLiteCacheStore(path: path, cipher: testCipher)
        let second = pages(from: 150, count: 3, more: true)
        try await store.apply(second)
        await expected.apply(second)
        #expect(try !hasIndex(store))
        #expect(try await writerCacheKiB(store) == 2_048, "a resumed first sync runs with the small cache too")
        let last = pages(from: 300, count: 2, more: false)
        try await store.apply(last)
        await expected.apply(last)
        #expect(try hasIndex(store), "the feed's last page builds the index")
        #expect(try await writerCacheKiB(store) == 16_384)
        #expect(try await reads(store) == reads(expected))
        let plan = try await store.database.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    EXPLAIN QUERY PLAN SELECT id FROM message WHERE conversationID = ?
                    ORDER BY createdAt DESC, id DESC LIMIT 20
                    """, arguments: [history.relations[0].conversationID.rawValue]
            ).map { $0["detail"] as String }.joined()
        }
        #expect(plan.contains("message_by_conversation"), "\(plan)")
    }

    @Test func aCacheWithMessagesKeepsItsIndexThroughACatchUp() async throws {
        let folder = try TemporaryFolder()
        let store = try SQLiteCacheStore(path: folder.path + "/cache.sqlite", cipher: testCipher)
        try await store.apply(pages(from: 0, count: 1, more: false))
        try await store.apply(pages(from: 50, count: 2, more: true))
        #expect(try hasIndex(store), "only an empty cache defers it")
        // A first sync short enough for one commit never drops it.
        let fresh = try SQLiteCacheStore(path: folder.path + "/fresh.sqlite", cipher: testCipher)
        try await fresh.apply(pages(from: 0, count: 4, more: false))
        #expect(try hasIndex(fresh))
    }

    @Test func aResyncReplacesTheCacheAndEndsIndexed() async throws {
        let folder = try TemporaryFolder()
        let store = try SQLiteCacheStore(path: folder.path + "/cache.sqlite", cipher: testCipher)
        try await store.apply(pages(from: 0, count: 2, more: true))
        #expect(try !hasIndex(store))
        let all = pages(from: 0, count: 4, more: false)
        try await store.replaceAll(with: ChangePage(changes: all.flatMap(\.changes), cursor: FeedCursor("c199")))
        #expect(try hasIndex(store))
        let expected = InMemoryCacheStore()
        await expected.apply(all)
        #expect(try await reads(store) == reads(expected))
    }
}
