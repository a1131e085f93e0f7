import Foundation

/// A ``CacheStore`` held in memory: for tests, previews and the Sync module's model-based tests.
public actor InMemoryCacheStore: CacheStore {
    private var user: User?
    private var users: [UserID: User] = [:]
    private var presence: [UserID: Presence] = [:]
    private var messagesByID: [MessageID: Message] = [:]
    private var offersByID: [OfferID: SessionOffer] = [:]
    private var sessionsByID: [SessionID: Session] = [:]
    private var completeHistories: Set<ConversationID> = []
    private var readPositions: [ConversationID: [UserID: ReadPosition]] = [:]
    private var state = SyncState()
    private let changed = ChangeSignal()

    public init() {}

    /// A scan of every text with ``SearchText``'s rules and ranking.
    public func search(_ query: String, in conversation: ConversationID?, limit: Int) -> [SearchHit] {
        let terms = SearchText.queryTerms(query)
        return messagesByID.values
            .filter { $0.kind == .text && (conversation == nil || $0.conversationID == conversation) }
            .map { ($0, SearchText.relevance(of: SearchText.words($0.body), terms: terms)) }
            .filter { $0.1 > 0 }
            .sorted { a, b in a.1 != b.1 ? a.1 > b.1 : (a.0.createdAt, a.0.id) > (b.0.createdAt, b.0.id) }
            .prefix(max(0, limit))
            .map { SearchHit(message: $0.0, snippet: SearchText.snippet(of: $0.0.body, terms: terms)) }
    }

    public nonisolated func changes() -> AsyncThrowingStream<Void, any Error> { changed.changes() }

    public func account() -> User? { user }
    public func setAccount(_ user: User) {
        self.user = user
        changed.fire()
    }

    public func apply(_ page: ChangePage) {
        for change in page.changes { apply(change) }
        state.cursor = page.cursor
        changed.fire()
    }

    public func merge(_ changes: [Change]) {
        for change in changes { apply(change) }
        changed.fire()
    }

    public func apply(_ pages: [ChangePage]) {
        for page in pages { apply(page) }
    }

    public func replaceAll(with page: ChangePage) {
        users = [:]
        messagesByID = [:]
        offersByID = [:]
        sessionsByID = [:]
        completeHistories = []
        readPositions = [:]
        apply(page)
    }

    private func apply(_ change: Change) {
        switch change {
        case .user(let value): users[value.id] = value
        case .message(var value):
            // Read stays read: an older copy of the message keeps the stored time.
            value.readAt = value.readAt ?? messagesByID[value.id]?.readAt
            messagesByID[value.id] = value
        case .offer(let value): offersByID[value.id] = value
        case .session(let value): sessionsByID[value.id] = value
        case .read(let value):
            // Only forward: a position older than the stored one changes nothing.
            if let stored = readPositions[value.conversationID]?[value.readerID], stored.upTo > value.upTo { break }
            readPositions[value.conversationID, default: [:]][value.readerID] = value
            for (id, message) in messagesByID where message.readAt == nil && value.covers(message) {
                messagesByID[id]?.readAt = value.readAt
            }
        case .deleted(.user(let id)):
            users[id] = nil
            presence[id] = nil
        case .deleted(.message(let id)): messagesByID[id] = nil
        case .deleted(.offer(let id)): offersByID[id] = nil
        case .deleted(.session(let id)): sessionsByID[id] = nil
        }
    }

    public func contacts() -> [Contact] {
        users.values
            .filter { $0.id != user?.id }
            .map { peer in
                var unread = 0
                if let user {
                    let conversation = CareRelation(user: user, peer: peer.id).conversationID
                    unread = unreadCount(in: conversation, for: user.id, readUpTo: nil)
                }
                return Contact(
                    user: peer, presence: presence[peer.id] ?? Presence(userID: peer.id, isOnline: false),
                    unread: unread)
            }
            .sorted { ($0.user.name, $0.id) < ($1.user.name, $1.id) }
    }

    public func isContact(_ id: UserID) -> Bool { id != user?.id && users[id] != nil }

    public func readPosition(of reader: UserID, in conversation: ConversationID) -> ReadPosition? {
        readPositions[conversation]?[reader]
    }

    public func unreadCount(in conversation: ConversationID, for reader: UserID, readUpTo: Date?) -> Int {
        let stored = readPositions[conversation]?[reader]?.upTo
        let after = [stored, readUpTo].compactMap { $0 }.max()
        return messagesByID.values.count { message in
            message.conversationID == conversation && message.recipientID == reader
                && (after.map { message.createdAt > $0 } ?? true)
        }
    }

    public func updatePresence(_ values: [Presence]) {
        for value in values { presence[value.userID] = value }
        changed.fire()
    }

    public func messages(in conversation: ConversationID, limit: Int, before: MessageID?) -> [Message] {
        var candidates = messagesByID.values.filter { $0.conversationID == conversation }
        if let before {
            guard let anchor = messagesByID[before] else { return [] }
            candidates = candidates.filter { ($0.createdAt, $0.id) < (anchor.createdAt, anchor.id) }
        }
        return Array(
            candidates.sorted { ($0.createdAt, $0.id) > ($1.createdAt, $1.id) }.prefix(max(0, limit)))
    }

    public func message(_ id: MessageID) -> Message? { messagesByID[id] }

    public func markHistoryComplete(_ conversation: ConversationID) {
        completeHistories.insert(conversation)
        changed.fire()
    }

    public func isHistoryComplete(_ conversation: ConversationID) -> Bool {
        completeHistories.contains(conversation)
    }

    public func offers() -> [SessionOffer] {
        offersByID.values.sorted { ($0.createdAt, $0.id) > ($1.createdAt, $1.id) }
    }

    public func offer(_ id: OfferID) -> SessionOffer? { offersByID[id] }
    public func session(_ id: SessionID) -> Session? { sessionsByID[id] }
    public func upcomingSessions(at now: Date) -> [Session] { sessionsByID.values.upcoming(at: now) }

    public func syncState() -> SyncState { state }

    /// Nothing in memory is ever unreadable.
    public func dropUnreadableRows() -> Bool { false }

    public func recordSync(at date: Date) {
        state.lastSyncAt = date
        changed.fire()
    }

    public func recordServerTime(_ estimate: ServerTimeEstimate, serverClockOffset: TimeInterval) {
        state.serverTime = estimate
        state.serverClockOffset = serverClockOffset
        changed.fire()
    }
}
