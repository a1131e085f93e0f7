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
    private var state = SyncState()

    public init() {}

    public func account() -> User? { user }
    public func setAccount(_ user: User) { self.user = user }

    public func apply(_ page: ChangePage) {
        for change in page.changes { apply(change) }
        state.cursor = page.cursor
    }

    public func merge(_ changes: [Change]) {
        for change in changes { apply(change) }
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
        apply(page)
    }

    private func apply(_ change: Change) {
        switch change {
        case .user(let value): users[value.id] = value
        case .message(let value): messagesByID[value.id] = value
        case .offer(let value): offersByID[value.id] = value
        case .session(let value): sessionsByID[value.id] = value
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
            .map { Contact(user: $0, presence: presence[$0.id] ?? Presence(userID: $0.id, isOnline: false)) }
            .sorted { ($0.user.name, $0.id) < ($1.user.name, $1.id) }
    }

    public func updatePresence(_ values: [Presence]) {
        for value in values { presence[value.userID] = value }
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

    public func recordSync(at date: Date, serverClockOffset: TimeInterval) {
        state.lastSyncAt = date
        state.serverClockOffset = serverClockOffset
    }
}

/// An ``OutboxStore`` held in memory: for tests and the Sync module's model-based tests.
public actor InMemoryOutboxStore: OutboxStore {
    private var stored: [IdempotencyKey: OutboxEntry] = [:]
    private var nextSequence: Int64 = 1

    public init() {}

    public func enqueue(_ entry: OutboxEntry) -> OutboxEntry {
        if let existing = stored[entry.id] { return existing }
        var entry = entry
        entry.sequence = nextSequence
        nextSequence += 1
        stored[entry.id] = entry
        return entry
    }

    public func entries() -> [OutboxEntry] { stored.values.sorted { $0.sequence < $1.sequence } }
    public func entry(_ key: IdempotencyKey) -> OutboxEntry? { stored[key] }

    public func update(_ entry: OutboxEntry) throws {
        guard let existing = stored[entry.id] else { throw DomainError.notFound }
        var entry = entry
        entry.sequence = existing.sequence
        stored[entry.id] = entry
    }

    public func remove(_ key: IdempotencyKey) { stored[key] = nil }
}
