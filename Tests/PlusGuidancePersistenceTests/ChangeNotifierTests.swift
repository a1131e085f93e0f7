import Foundation
import GRDB
@_spi(PlusGuidanceTools) import PlusGuidanceDomain
import PlusGuidanceTesting
import Testing

@_spi(PlusGuidanceTools) @testable import PlusGuidancePersistence

/// The change notifier behind every observation: one per database per process, told of every
/// commit by inotify, with the tables it changed.
@Suite struct ChangeNotifierTests {
    /// Counts the notifications a subscriber got.
    final class Counter: @unchecked Sendable {
        private let lock = NSLock()
        private var count = 0
        func increment() { lock.withLock { count += 1 } }
        var value: Int { lock.withLock { count } }
    }

    static func eventually(_ condition: @Sendable () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(60)
        while try await !condition() {
            try #require(ContinuousClock.now < deadline, "condition not met in time")
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    /// Counts the commits to `path` that changed messages, and all of them.
    static func countMessagesAndEverything(
        _ path: String
    ) throws -> (messages: Counter, everything: Counter, subscriptions: [ChangeNotifier.Subscription]) {
        let messages = Counter()
        let everything = Counter()
        let subscriptions = [
            try ChangeNotifier.subscribe(to: path, tables: ["message"]) { messages.increment() },
            try ChangeNotifier.subscribe(to: path, tables: nil) { everything.increment() },
        ]
        return (messages, everything, subscriptions)
    }

    static func offerPage(_ id: String) -> ChangePage {
        ChangePage(changes: [.offer(Fixtures.offer(id))], cursor: FeedCursor("c-\(id)"))
    }

    static func messagePage(_ id: String) -> ChangePage {
        ChangePage(changes: [.message(Fixtures.message(id))], cursor: FeedCursor("c-\(id)"))
    }

    @Test func aSubscriberIsToldOnlyOfCommitsToTheTablesItReads() async throws {
        let folder = try TemporaryFolder()
        let path = folder.path + "/cache.sqlite"
        let writer = try SQLiteCacheStore(path: path, cipher: testCipher)
        let (messages, everything, subscriptions) = try Self.countMessagesAndEverything(path)
        defer { subscriptions.forEach { $0.cancel() } }
        #expect(ChangeNotifier.existing(for: path)?.isWatching == true)

        try await writer.apply(Self.offerPage("o1"))
        // Once the catch-all subscriber heard of the offer's commit, the notifier has handled it.
        try await Self.eventually { everything.value >= 1 }
        #expect(messages.value == 0)

        try await writer.apply(Self.messagePage("m1"))
        try await Self.eventually { messages.value >= 1 }
        #expect(messages.value == 1)
    }

    /// Message rows are written past GRDB's observation (CacheRows.MessageUpsert) and the
    /// marker is told directly: a rolled-back transaction must not tell anyone of them.
    @Test func messagesOfARolledBackTransactionAreNotTold() async throws {
        struct Abandoned: Error {}
        let folder = try TemporaryFolder()
        let path = folder.path + "/cache.sqlite"
        let writer = try SQLiteCacheStore(path: path, cipher: testCipher)
        let (messages, everything, subscriptions) = try Self.countMessagesAndEverything(path)
        defer { subscriptions.forEach { $0.cancel() } }
        let page = Self.messagePage("m1")
        await #expect(throws: Abandoned.self) {
            try await writer.database.write { db in
                try SQLiteCacheStore.apply(
                    page.changes, in: db, SealedBodies(page.changes, testCipher), try #require(writer.marker))
                throw Abandoned()
            }
        }
        try await writer.apply(Self.offerPage("o1"))
        try await Self.eventually { everything.value >= 1 }
        #expect(messages.value == 0)
        #expect(try await writer.messages(in: Fixtures.message("m1").conversationID, limit: 10, before: nil).isEmpty)

        try await writer.apply(page)
        try await Self.eventually { messages.value >= 1 }
    }

    @Test func observationsOfOneDatabaseShareOneNotifier() async throws {
        let folder = try TemporaryFolder()
        let path = folder.path + "/cache.sqlite"
        let cache = try SQLiteCacheStore(path: path, cipher: testCipher)
        var iterators: [AsyncThrowingStream<[SessionOffer], any Error>.AsyncIterator] = []
        for _ in 0..<20 {
            var iterator = cache.observeOffers().makeAsyncIterator()
            #expect(try await iterator.next() == [])
            iterators.append(iterator)
        }
        let notifier = try #require(ChangeNotifier.existing(for: path))
        #expect(ChangeNotifier.subscriberCount(for: path) == 20)
        try await cache.apply(Self.offerPage("o1"))
        for index in iterators.indices {
            #expect(try await iterators[index].next()?.map(\.id) == ["o1"])
        }
        #expect(ChangeNotifier.existing(for: path) === notifier)
        iterators.removeAll()
    }

    /// A commit by a program that bumps no markers (here a plain GRDB connection standing in for
    /// the `sqlite3` shell) is still told, to everyone; so is any commit where inotify is not
    /// available, by the once-a-second `data_version` poll.
    @Test(arguments: [true, false])
    func aCommitWithoutMarkersIsStillTold(inotify: Bool) async throws {
        let folder = try TemporaryFolder()
        let path = folder.path + "/cache.sqlite"
        _ = try SQLiteCacheStore(path: path, cipher: testCipher)  // creates the schema
        let told = Counter()
        let subscription = try ChangeNotifier.subscribe(to: path, tables: ["offer"], inotify: inotify) {
            told.increment()
        }
        defer { subscription.cancel() }
        #expect(ChangeNotifier.existing(for: path)?.isWatching == inotify)
        let foreign = try DatabaseQueue(path: path)
        try await foreign.write { db in try db.execute(sql: "UPDATE syncState SET cursor = 'x'") }
        try await Self.eventually { told.value >= 1 }
    }

    @Test func theNotifierEndsWithItsLastSubscriber() async throws {
        let folder = try TemporaryFolder()
        let path = folder.path + "/cache.sqlite"
        _ = try SQLiteCacheStore(path: path, cipher: testCipher)
        let first = try ChangeNotifier.subscribe(to: path, tables: nil) {}
        let second = try ChangeNotifier.subscribe(to: path, tables: nil) {}
        #expect(ChangeNotifier.subscriberCount(for: path) == 2)
        first.cancel()
        #expect(ChangeNotifier.subscriberCount(for: path) == 1)
        second.cancel()
        #expect(ChangeNotifier.subscriberCount(for: path) == 0)
        // A new subscription starts a new notifier, which is told again.
        let told = Counter()
        let third = try ChangeNotifier.subscribe(to: path, tables: nil) { told.increment() }
        defer { third.cancel() }
        try await SQLiteCacheStore(path: path, cipher: testCipher).apply(Self.offerPage("o2"))
        try await Self.eventually { told.value >= 1 }
    }
}
