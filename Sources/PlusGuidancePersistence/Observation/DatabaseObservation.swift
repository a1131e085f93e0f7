import Foundation
import GRDB
import PlusGuidanceDomain

/// Async sequences of query results that emit whenever the data changes, whoever changed it.
///
/// GRDB's own observation sees commits made through the same `DatabasePool` only, but a profile
/// is shared by several processes (the `pg-syncd` daemon and `pg` commands). So two triggers feed
/// one fetch loop:
/// - commits of this pool, seen at once through a `DatabaseRegionObservation`;
/// - commits of any other connection, seen by polling `PRAGMA data_version` on a connection of
///   our own, which changes exactly when another connection committed
///   (sqlite.org/pragma.html#pragma_data_version).
///
/// A single loop fetches after each trigger, so values are emitted in commit order and never go
/// back to an older snapshot; equal consecutive values are emitted once. The first fetch waits
/// for the poller's first `data_version` reading: a commit made between the two is then either
/// in that first value or seen as a change, never lost between them.
enum DatabaseObservation {
    /// How often other processes' commits are looked for: the upper bound of their latency.
    static let defaultPollInterval: Duration = .milliseconds(100)

    /// A tick after every commit to `pool`, whoever made it: the store seams' `changes()`.
    ///
    /// The first tick comes once the `data_version` baseline is read, so a reader that fetches
    /// on every tick fetches after the baseline, and a commit made before it is in that fetch.
    static func changes(
        in pool: DatabasePool, pollInterval: Duration = defaultPollInterval
    ) -> AsyncThrowingStream<Void, any Error> {
        AsyncThrowingStream(bufferingPolicy: .bufferingNewest(1)) { continuation in
            let inProcess = DatabaseRegionObservation(tracking: .fullDatabase).start(
                in: pool, onError: { continuation.finish(throwing: $0) }, onChange: { _ in continuation.yield() })
            let poller = Task {
                do {
                    var configuration = Configuration()
                    configuration.readonly = true
                    let connection = try DatabaseQueue(path: pool.path, configuration: configuration)
                    defer { try? connection.close() }
                    func version() async throws -> Int? {
                        try await connection.read { try Int.fetchOne($0, sql: "PRAGMA data_version") }
                    }
                    var last = try await version()
                    continuation.yield()  // the baseline is read
                    while !Task.isCancelled {
                        try await Task.sleep(for: pollInterval)
                        let current = try await version()
                        if current != last {
                            last = current
                            continuation.yield()
                        }
                    }
                } catch is CancellationError {
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in
                inProcess.cancel()
                poller.cancel()
            }
        }
    }

    /// `fetch` after every tick of ``changes(in:pollInterval:)``, emitted when it differs from
    /// the last value. One loop fetches, so values come in commit order and never go back to an
    /// older snapshot.
    static func values<T: Equatable & Sendable>(
        in pool: DatabasePool, pollInterval: Duration = defaultPollInterval,
        fetch: @escaping @Sendable (Database) throws -> T
    ) -> AsyncThrowingStream<T, any Error> {
        let ticks = changes(in: pool, pollInterval: pollInterval)
        return AsyncThrowingStream { continuation in
            let fetcher = Task {
                do {
                    var last: T?
                    for try await _ in ticks {
                        let value = try await pool.read(fetch)
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
            continuation.onTermination = { _ in fetcher.cancel() }
        }
    }
}

extension SQLiteCacheStore {
    /// The latest `limit` messages of `conversation`, newest first, each time they change.
    ///
    /// Merge with the outbox (``PlusGuidanceDomain/Swift/Array/merging(outbox:in:)``) to show
    /// messages not yet confirmed by the server.
    public func observeMessages(
        in conversation: ConversationID, limit: Int = 50
    )
        -> AsyncThrowingStream<[Message], any Error>
    {
        DatabaseObservation.values(in: database) { db in
            try Self.messages(in: conversation, limit: limit, before: nil, db: db)
        }
    }

    /// All cached offers, newest first, each time they change.
    public func observeOffers() -> AsyncThrowingStream<[SessionOffer], any Error> {
        DatabaseObservation.values(in: database, fetch: Self.offers)
    }

    /// The contacts with their presence each time they change.
    public func observeContacts() -> AsyncThrowingStream<[Contact], any Error> {
        DatabaseObservation.values(in: database, fetch: Self.contacts)
    }

    /// One session each time it changes (`nil` while it is not cached).
    public func observeSession(_ id: SessionID) -> AsyncThrowingStream<Session?, any Error> {
        DatabaseObservation.values(in: database) { db in try Self.session(id, db) }
    }

    /// The sync state (cursor, last sync, clock offset) each time it changes, whoever synced.
    public func observeSyncState() -> AsyncThrowingStream<SyncState, any Error> {
        DatabaseObservation.values(in: database, fetch: Self.syncState)
    }

    /// The upcoming sessions (not ended, by start time) each time they change (R7).
    public func observeUpcomingSessions() -> AsyncThrowingStream<[Session], any Error> {
        DatabaseObservation.values(in: database, fetch: Self.upcomingSessions)
    }
}

extension SQLiteOutboxStore {
    /// The outbox in delivery order each time it changes, including entries other processes add.
    public func observeEntries() -> AsyncThrowingStream<[OutboxEntry], any Error> {
        let actions = actions
        return DatabaseObservation.values(in: database) { db in try Self.entries(db, actions: actions) }
    }

    /// One conversation's message entries each time they change (``entries(in:)``).
    public func observeEntries(in conversation: ConversationID) -> AsyncThrowingStream<[OutboxEntry], any Error> {
        let actions = actions
        return DatabaseObservation.values(in: database) { db in
            try Self.entries(in: conversation, db, actions: actions)
        }
    }

    /// The outbox's counts each time they change, including entries other processes add.
    public func observeSummary() -> AsyncThrowingStream<OutboxSummary, any Error> {
        DatabaseObservation.values(in: database, fetch: Self.summary)
    }
}

extension SQLiteCacheStore {
    public func changes() -> AsyncThrowingStream<Void, any Error> { DatabaseObservation.changes(in: database) }
}

extension SQLiteOutboxStore {
    public func changes() -> AsyncThrowingStream<Void, any Error> { DatabaseObservation.changes(in: database) }
}
