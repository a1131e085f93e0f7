import Foundation

/// The seam for the local cache of one signed-in account: everything a user reads offline (R8).
///
/// Implementations: ``InMemoryCacheStore`` here, and the SQLite store in
/// `PlusGuidancePersistence`. Both pass the same conformance suite.
///
/// Guarantees every implementation gives:
/// - ``apply(_:)-(ChangePage)`` stores a page's changes and its cursor atomically: after a crash
///   the cache holds either the whole page and its cursor or neither; the batch form does the
///   same for several pages and the last cursor.
/// - ``replaceAll(with:)`` swaps the whole cache for a fresh snapshot in one step (resync after
///   "cursor too old"); it never touches the outbox, which lives in its own store.
/// - Reads see only committed data.
public protocol CacheStore: Sendable {
    /// The account this cache belongs to, once known.
    func account() async throws -> User?
    func setAccount(_ user: User) async throws

    /// Applies one page of the change feed and advances the cursor, atomically.
    func apply(_ page: ChangePage) async throws
    /// Applies consecutive pages in order and advances the cursor to the last page's, in one
    /// atomic step: how an initial sync amortises commits over thousands of changes.
    func apply(_ pages: [ChangePage]) async throws
    /// Stores changes learned outside the feed (the server's answer to an action of this device,
    /// an event of the live stream) without moving the cursor: the feed brings them again later
    /// and upserts are idempotent, while moving the cursor here could skip changes.
    func merge(_ changes: [Change]) async throws
    /// Replaces every cached entity by the snapshot in `page` and sets its cursor, atomically.
    func replaceAll(with page: ChangePage) async throws

    /// The counterparts of the account (a therapist's clients, a client's therapist), by name,
    /// each with the conversation's unread count by the account's stored read position.
    func contacts() async throws -> [Contact]
    /// Whether `id` is one of the account's counterparts: one lookup, for a check that needs
    /// neither the list nor its unread counts.
    func isContact(_ id: UserID) async throws -> Bool
    /// `reader`'s read position in `conversation`, as the server last told it (R11).
    func readPosition(of reader: UserID, in conversation: ConversationID) async throws -> ReadPosition?
    /// Messages of `conversation` addressed to `reader` created after `reader`'s stored read
    /// position or after `readUpTo`, whichever is later: the unread count with a position not
    /// stored yet (a queued read receipt) taken into account.
    func unreadCount(in conversation: ConversationID, for reader: UserID, readUpTo: Date?) async throws -> Int
    /// Records presence seen on the event stream or in a clients listing.
    func updatePresence(_ presence: [Presence]) async throws

    /// Messages of a conversation, newest first, at most `limit`, strictly older than the message
    /// `before` when given.
    func messages(
        in conversation: ConversationID, limit: Int, before: MessageID?
    ) async throws
        -> [Message]
    func message(_ id: MessageID) async throws -> Message?
    /// Texts (``MessageKind/text``) whose body matches `query` (``SearchText``), of
    /// `conversation` or of every conversation, the most relevant first and, among equals, the
    /// newest first; at most `limit`. The session flow's system messages are not searched.
    func search(_ query: String, in conversation: ConversationID?, limit: Int) async throws -> [SearchHit]
    /// Marks that the server has no older messages for `conversation` than the oldest cached, so
    /// a UI can tell "this is all" from "older messages not fetched yet".
    func markHistoryComplete(_ conversation: ConversationID) async throws
    func isHistoryComplete(_ conversation: ConversationID) async throws -> Bool

    /// All cached offers, newest first.
    func offers() async throws -> [SessionOffer]
    func offer(_ id: OfferID) async throws -> SessionOffer?

    func session(_ id: SessionID) async throws -> Session?
    /// Sessions not ended at `now`, ordered by start (R7).
    func upcomingSessions(at now: Date) async throws -> [Session]

    /// Deletes the rows readers could not open (recorded as they skipped them) and starts the
    /// feed over, so that the pull that called it fetches them again; whether there were any.
    func dropUnreadableRows() async throws -> Bool

    func syncState() async throws -> SyncState
    /// Records the last successful sync time (the cursor moves only with `apply(_:)` and
    /// ``replaceAll(with:)``).
    func recordSync(at date: Date) async throws
    /// Shares the server time `estimate` with the profile's other processes
    /// (``SyncState/serverTime``), with the wall clock's offset from it at the time
    /// (``SyncState/serverClockOffset``).
    func recordServerTime(_ estimate: ServerTimeEstimate, serverClockOffset: TimeInterval) async throws

    /// Ticks after every commit to the cache, whichever process made it, until the store closes:
    /// what observations refetch on. Ticks that arrive while the reader is busy coalesce.
    func changes() -> AsyncThrowingStream<Void, any Error>
}

extension Array where Element == Message {
    /// A conversation as the user sees it: `cached` messages from the server merged with the
    /// `outbox`'s not-yet-confirmed texts (pending or failed), newest first. A message the server
    /// already confirmed appears once, as sent.
    public func merging(outbox: [OutboxEntry], in conversation: ConversationID) -> [Message] {
        let known = Set(map(\.id))
        let outgoing = outbox.compactMap(\.outgoingMessage)
            .filter { $0.conversationID == conversation && !known.contains($0.id) }
        return (self + outgoing).sorted { ($0.createdAt, $0.id) > ($1.createdAt, $1.id) }
    }
}
