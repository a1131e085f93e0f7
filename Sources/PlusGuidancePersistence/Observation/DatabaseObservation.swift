import Foundation
import GRDB
@_spi(PlusGuidanceTools) import PlusGuidanceDomain

/// Async sequences of query results that emit whenever the data changes, whoever changed it.
///
/// GRDB's own observation sees commits made through the same `DatabasePool` only, but a profile
/// is shared by several processes (the `pg-syncd` daemon and `pg` commands). So every commit, by
/// this process or another, reaches the database's ``ChangeNotifier`` (one per database per
/// process, shared by every observation, woken by inotify, never polling while inotify works),
/// with the tables it changed.
///
/// A single loop fetches after each change, so values are emitted in commit order and never go
/// back to an older snapshot; equal consecutive values are emitted once. The first fetch comes
/// after the subscription: a commit made between the two is then either in that first value or
/// told as a change, never lost between them. Each observation names the tables its query reads:
/// a commit that changed none of them does not make it fetch.
enum DatabaseObservation {
    /// A tick after every commit to `database`, whoever made it: the store seams' `changes()`.
    ///
    /// The first tick comes once the subscription is in place, so a reader that fetches on
    /// every tick fetches after it, and a commit made before it is in that fetch.
    static func changes(in database: any DatabaseReader) -> AsyncThrowingStream<Void, any Error> {
        AsyncThrowingStream(bufferingPolicy: .bufferingNewest(1)) { continuation in
            do {
                let subscription = try ChangeNotifier.subscribe(to: database.path, tables: nil) { continuation.yield() }
                continuation.yield()  // the subscription is in place
                continuation.onTermination = { _ in subscription.cancel() }
            } catch {
                continuation.finish(throwing: error)
            }
        }
    }

    /// `fetch` after every commit that changed one of `tables` (those it reads), emitted when
    /// it differs from the last value. One loop fetches, so values come in commit order and
    /// never go back to an older snapshot.
    static func values<T: Equatable & Sendable>(
        in database: any DatabaseReader, reading tables: Set<String>, fetch: @escaping @Sendable (Database) throws -> T
    ) -> AsyncThrowingStream<T, any Error> {
        AsyncThrowingStream { continuation in
            let (ticks, tick) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
            let subscription: ChangeNotifier.Subscription
            do {
                subscription = try ChangeNotifier.subscribe(to: database.path, tables: tables) { tick.yield() }
            } catch {
                continuation.finish(throwing: error)
                return
            }
            tick.yield()  // the first fetch, after the subscription
            let fetcher = Task {
                do {
                    var last: T?
                    for await _ in ticks {
                        let value = try database.readHere(fetch)
                        if value != last {
                            last = value
                            continuation.yield(value)
                        }
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in
                subscription.cancel()
                tick.finish()
                fetcher.cancel()
            }
        }
    }
}

extension SQLiteCacheStore {
    /// The latest `limit` messages of `conversation`, newest first, each time they change.
    ///
    /// Merge with the outbox (`Array.merging(outbox:in:)`) to show
    /// messages not yet confirmed by the server.
    public func observeMessages(
        in conversation: ConversationID, limit: Int = 50
    )
        -> AsyncThrowingStream<[Message], any Error>
    {
        let cipher = cipher
        let unreadable = unreadable
        return DatabaseObservation.values(in: database, reading: ["message"]) { db in
            let skipped = UnreadableRows.Skipped()
            let messages = try Self.messages(
                in: conversation, limit: limit, before: nil, db: db, cipher, skipping: skipped)
            unreadable.record(skipped.ids)
            return messages
        }
    }

    /// All cached offers, newest first, each time they change.
    public func observeOffers() -> AsyncThrowingStream<[SessionOffer], any Error> {
        let cipher = cipher
        return DatabaseObservation.values(in: database, reading: ["offer"]) { db in try Self.offers(db, cipher) }
    }

    /// The contacts with their presence each time they change.
    public func observeContacts() -> AsyncThrowingStream<[Contact], any Error> {
        let cipher = cipher
        return DatabaseObservation.values(in: database, reading: ["user", "presence", "account"]) { db in
            try Self.contacts(db, cipher)
        }
    }

    /// One session each time it changes (`nil` while it is not cached).
    public func observeSession(_ id: SessionID) -> AsyncThrowingStream<Session?, any Error> {
        let cipher = cipher
        return DatabaseObservation.values(in: database, reading: ["session"]) { db in try Self.session(id, db, cipher) }
    }

    /// The sync state (cursor, last sync, clock offset) each time it changes, whoever synced.
    public func observeSyncState() -> AsyncThrowingStream<SyncState, any Error> {
        DatabaseObservation.values(in: database, reading: ["syncState"], fetch: Self.syncState)
    }

    /// The upcoming sessions (not ended, by start time) each time they change (R7).
    public func observeUpcomingSessions() -> AsyncThrowingStream<[Session], any Error> {
        let cipher = cipher
        return DatabaseObservation.values(in: database, reading: ["session"]) { db in
            try Self.upcomingSessions(db, cipher)
        }
    }
}

extension SQLiteOutboxStore {
    /// The outbox in delivery order each time it changes, including entries other processes add.
    public func observeEntries() -> AsyncThrowingStream<[OutboxEntry], any Error> {
        let actions = actions
        return DatabaseObservation.values(in: database, reading: ["outbox"]) { db in
            try Self.entries(db, actions: actions)
        }
    }

    /// One conversation's message entries each time they change (``entries(in:)``).
    public func observeEntries(in conversation: ConversationID) -> AsyncThrowingStream<[OutboxEntry], any Error> {
        let actions = actions
        return DatabaseObservation.values(in: database, reading: ["outbox"]) { db in
            try Self.entries(in: conversation, db, actions: actions)
        }
    }

    /// The outbox's counts each time they change, including entries other processes add.
    public func observeSummary() -> AsyncThrowingStream<OutboxSummary, any Error> {
        DatabaseObservation.values(in: database, reading: ["outbox"], fetch: Self.summary)
    }
}

extension SQLiteCacheStore {
    public func changes() -> AsyncThrowingStream<Void, any Error> { DatabaseObservation.changes(in: database) }
}

extension SQLiteOutboxStore {
    public func changes() -> AsyncThrowingStream<Void, any Error> { DatabaseObservation.changes(in: database) }
}
