import Foundation

/// The seam for the outbox: user actions not yet confirmed by the server (R8).
///
/// Implementations: ``InMemoryOutboxStore`` here, and the SQLite store in
/// `PlusGuidancePersistence`, which keeps it apart from the cache so that rebuilding a corrupt
/// cache never loses an action. Both pass the same conformance suite, which covers every method
/// the sync engine calls.
///
/// Guarantees every implementation gives:
/// - ``enqueue(_:)`` is durable when it returns, and idempotent on the entry's key: enqueueing a
///   key that is already there returns the stored entry unchanged.
/// - ``entries()`` come in enqueue order (``OutboxEntry/sequence``).
/// - ``changes()`` ticks after every commit, also one made by another process on the profile.
public protocol OutboxStore: Sendable {
    /// Adds `entry` with the next sequence number and returns it as stored.
    func enqueue(_ entry: OutboxEntry) async throws -> OutboxEntry
    /// Adds `entry` and, in the same commit, removes those of `superseded` that are still
    /// `pending` (one in flight or failed stays): how queued read receipts of a conversation
    /// merge into the latest.
    func enqueue(_ entry: OutboxEntry, superseding superseded: [IdempotencyKey]) async throws -> OutboxEntry
    func entries() async throws -> [OutboxEntry]
    /// The message entries of one conversation, in delivery order.
    func entries(in conversation: ConversationID) async throws -> [OutboxEntry]
    func entry(_ key: IdempotencyKey) async throws -> OutboxEntry?
    /// Stores an entry's new state after a transition. Throws ``DomainError/notFound`` if the key
    /// is not in the outbox.
    ///
    /// With `durably: false` the store may skip the fsync of this one commit: for the sync
    /// engine's own bookkeeping (an attempt started, its outcome recorded), where losing the
    /// commit in a power failure only means the entry is attempted again with its key. What the
    /// user does (enqueue, retry, discard) is always durable.
    func update(_ entry: OutboxEntry, durably: Bool) async throws
    /// Removes an entry (confirmed by the server, or discarded by the user); `durably` as for
    /// `update(_:durably:)`.
    func remove(_ key: IdempotencyKey, durably: Bool) async throws
    /// Stores several entries' new states in one commit (a batch's attempts and outcomes); all
    /// or nothing: throws ``DomainError/notFound`` if a key is not in the outbox.
    func update(_ entries: [OutboxEntry], durably: Bool) async throws
    /// Removes several entries in one commit (a batch the server confirmed).
    func remove(_ keys: [IdempotencyKey], durably: Bool) async throws
    /// Removes every entry in one durable step (a sign-out that discards the outbox).
    func removeAll() async throws
    /// Whether an earlier message entry of the same conversation is still in the outbox: then
    /// `key` must wait for it (messages go out in order).
    func isQueuedBehindAnother(_ key: IdempotencyKey) async throws -> Bool
    /// The counts for a status line, without reading the entries.
    func summary() async throws -> OutboxSummary
    /// What a delivery round at `now` has to look at, in enqueue order: every entry that is not
    /// a message, every entry with a deadline, and each conversation's messages up to and
    /// including the first one that is not due at `now` (in flight, failed or waiting for a
    /// backoff). The messages queued behind that one cannot go before it, so a store may leave
    /// them out; it may also return more. Offline with a long queue, a store that leaves them
    /// out reads one entry per conversation for a round instead of the whole outbox.
    func deliveryCandidates(at now: Date) async throws -> [OutboxEntry]
    /// The earliest end of a backoff among `pending` entries: when the sender next has work.
    func earliestRetry() async throws -> Date?
    /// The `pending` entries with a deadline (accepts), in enqueue order: what a status judges
    /// on the server's clock, without reading the texts.
    func pendingWithDeadline() async throws -> [OutboxEntry]
    /// Ticks after every commit to the outbox, whichever process made it, until the store
    /// closes. Ticks that arrive while the reader is busy coalesce.
    func changes() -> AsyncThrowingStream<Void, any Error>
}

extension OutboxStore {
    public func update(_ entry: OutboxEntry) async throws { try await update(entry, durably: true) }
    public func remove(_ key: IdempotencyKey) async throws { try await remove(key, durably: true) }

    /// One update after another: for stores without transactions of their own (in memory). A
    /// missing key throws before anything changes.
    public func update(_ entries: [OutboxEntry], durably: Bool) async throws {
        for entry in entries where try await self.entry(entry.id) == nil { throw DomainError.notFound }
        for entry in entries { try await update(entry, durably: durably) }
    }

    public func remove(_ keys: [IdempotencyKey], durably: Bool) async throws {
        for key in keys { try await remove(key, durably: durably) }
    }

    /// Every entry: a store without queries of its own (in memory) may return more.
    public func deliveryCandidates(at now: Date) async throws -> [OutboxEntry] { try await entries() }

    public func pendingWithDeadline() async throws -> [OutboxEntry] {
        try await entries().filter { $0.state == .pending && $0.deadline != nil }
    }

    public func earliestRetry() async throws -> Date? {
        try await entries().compactMap { $0.state == .pending ? $0.notBefore : nil }.min()
    }

    /// Puts every entry a crash left `inFlight` back to `pending`; returns how many.
    public func recoverInFlight() async throws -> Int {
        var recovered = 0
        for var entry in try await entries() where entry.state == .inFlight {
            entry.recoverAfterCrash()
            try await update(entry)
            recovered += 1
        }
        return recovered
    }
}

/// The outbox's counts: entries still to deliver (pending or in flight), failed ones, and when
/// the oldest one to deliver was queued.
public struct OutboxSummary: Hashable, Sendable {
    public var pending: Int
    public var failed: Int
    public var oldestPendingSince: Date?

    public init(pending: Int, failed: Int, oldestPendingSince: Date?) {
        self.pending = pending
        self.failed = failed
        self.oldestPendingSince = oldestPendingSince
    }
}

extension OutboxSummary {
    /// The summary of `entries`, as every store computes it.
    public init(of entries: [OutboxEntry]) {
        let unsent = entries.filter { $0.state != .failed }
        self.init(
            pending: unsent.count, failed: entries.count - unsent.count,
            oldestPendingSince: unsent.map(\.enqueuedAt).min())
    }
}
