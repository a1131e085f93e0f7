import Foundation
@_spi(PlusGuidanceTools) import PlusGuidanceDomain
@_spi(PlusGuidanceTools) import PlusGuidanceNetworking
@_spi(PlusGuidanceTools) import PlusGuidancePersistence

extension PlusGuidanceClient {
    // MARK: Reads (from the cache, online or not)

    /// A therapist's clients, or a client's therapist, with the presence last seen and the
    /// conversation's unread count (R11), which counts a read receipt still queued here.
    public func contacts() async throws -> [Contact] {
        try await Self.contacts(of: signedIn())
    }

    /// Unread messages over every conversation of the account (R11), from the cache.
    /// The contact an app or a command names by e-mail (any case) or id, for `pg` and the C
    /// library. A damaged cache answers less than it holds: it says so (a damage error) rather
    /// than "not a contact".
    /// - Throws: ``ErrorReport`` `not_a_contact` (refused), which names nobody.
    @_spi(PlusGuidanceTools) public func contact(named text: String) async throws -> Contact {
        let account = try signedIn()
        // Addresses are sealed: one is found by its fingerprint (BlindIndex), never by a scan.
        let id = try await account.storage.cache.contact(email: text) ?? UserID(rawValue: text)
        if let found = try await Self.contacts(of: account).first(where: { $0.id == id }) {
            return found
        }
        try await checkCache()
        throw ErrorReport(.refused, code: "not_a_contact", line: "not one of your contacts (sync if it is new)")
    }

    public func unreadCount() async throws -> Int {
        try await contacts().reduce(0) { $0 + $1.unread }
    }

    static func contacts(of account: SignedInAccount) async throws -> [Contact] {
        var contacts = try await account.cache.contacts()
        // A read receipt still waiting in the outbox counts as read here (offline too).
        var queued: [ConversationID: Date] = [:]
        for entry in try await account.outbox.entries() where entry.state != .failed {
            guard case .markRead(let mark) = entry.action else { continue }
            queued[mark.conversationID] = max(queued[mark.conversationID] ?? mark.upTo, mark.upTo)
        }
        guard !queued.isEmpty else { return contacts }
        let me = account.user.id
        for index in contacts.indices {
            let conversation = CareRelation(user: account.user, peer: contacts[index].id).conversationID
            guard let upTo = queued[conversation] else { continue }
            contacts[index].unread = try await account.cache.unreadCount(in: conversation, for: me, readUpTo: upTo)
        }
        return contacts
    }

    /// The conversation with `peer`, newest first: cached messages and this device's unsent ones
    /// (`pending`, or `failed` until retried or discarded).
    public func messages(with peer: UserID, limit: Int = 50) async throws -> [Message] {
        let account = try signedIn()
        return try await Self.messages(
            in: CareRelation(user: account.user, peer: peer).conversationID, limit: limit, account: account)
    }

    static func messages(
        in conversation: ConversationID, limit: Int, account: SignedInAccount
    ) async throws
        -> [Message]
    {
        let cached = try await account.cache.messages(in: conversation, limit: limit, before: nil)
        let unsent = try await account.outbox.entries(in: conversation)
        return Array(cached.merging(outbox: unsent, in: conversation).prefix(limit))
    }

    /// Fetches older messages than the oldest cached one into the cache. Returns how many
    /// arrived; zero once the history is complete.
    public func loadOlderMessages(with peer: UserID, limit: Int = 50) async throws -> Int {
        let account = try signedIn()
        let conversation = CareRelation(user: account.user, peer: peer).conversationID
        if try await account.cache.isHistoryComplete(conversation) { return 0 }
        let oldest = try await account.cache.messages(in: conversation, limit: .max, before: nil).last
        let page = try await signingOutOnRefusal(account) {
            try await account.api.messages(with: peer, limit: limit, before: oldest?.id)
        }
        try await account.cache.merge(page.messages.map(Change.message))
        if !page.hasMore { try await account.cache.markHistoryComplete(conversation) }
        return page.messages.count
    }

    public func offers() async throws -> [SessionOffer] { try await signedIn().cache.offers() }

    /// Messages of the account (R1) whose body matches `text`, offline, from the cache: every
    /// word of `text` must begin a word of the body, case and accents aside ("cafe resume" finds
    /// "Café résumé", "slee" finds "SLEEPLESS"); the most relevant first, then the newest. Any
    /// text is a query: one with no letter or digit finds nothing. Texts still in the outbox are
    /// not searched.
    /// - Parameters:
    ///   - text: what to look for, as a person typed it.
    ///   - peer: only the conversation with this contact.
    ///   - limit: at most this many (50 by default).
    public func search(_ text: String, with peer: UserID? = nil, limit: Int = 50) async throws -> [SearchHit] {
        let account = try signedIn()
        let conversation = peer.map { CareRelation(user: account.user, peer: $0).conversationID }
        return try await account.cache.search(text, in: conversation, limit: limit)
    }

    /// Messages the cache holds but could not open (a damaged row): reads leave them out instead
    /// of failing, and the next pull (``syncNow(progress:)``, the engine's catch-up) fetches them again.
    public func unreadableMessageCount() throws -> Int { try signedIn().storage.cache.unreadableRowCount() }

    /// Checks the cache when a read found less than it should, to tell a damaged or empty cache
    /// from a true answer (a contact missing, no contact at all): every page is read, and a cache
    /// that holds nothing from the server yet (rebuilt after damage, or never synced) is said.
    /// - Throws: `PersistenceError.corruptCache(_:)` with what SQLite reported (the next open
    ///   for writing rebuilds it), or ``PlusGuidanceClientError/Code/notSynced``; the outbox is
    ///   intact either way, and a sync brings the cache back.
    public func checkCache() async throws {
        let account = try signedIn()
        if let problem = await account.storage.cacheIntegrityProblem() ?? account.storage.checkCacheNow() {
            throw PersistenceError.corruptCache(problem)
        }
        if try await account.cache.syncState().cursor == nil {
            throw PlusGuidanceClientError(
                .notSynced,
                reason: "the cache holds nothing from the server yet (it was rebuilt after damage, or never synced)")
        }
    }

    /// Sessions not ended, by start time (R7), from the cache.
    public func upcomingSessions() async throws -> [Session] {
        // On the server's clock (R12), as observeUpcomingSessions() and events().
        try await signedIn().cache.upcomingSessions(at: serverNow())
    }

    /// One session: from the cache, or, when the cache does not have it, from the server (then
    /// kept in the cache). `nil` when neither knows it, or the server cannot be reached.
    public func session(_ id: SessionID) async throws -> Session? {
        let account = try signedIn()
        if let cached = try await account.cache.session(id) { return cached }
        let fetched: Session
        do {
            fetched = try await signingOutOnRefusal(account) { try await account.api.session(id) }
        } catch let error as PlusGuidanceAPIError where error != .signedOut {
            return nil
        }
        try await account.cache.merge([.session(fetched)])
        return fetched
    }

    /// The session window's countdown now, on the server's clock (R6), so a skewed local clock
    /// does not change it.
    public func countdown(for session: Session) async -> SessionCountdown { session.countdown(at: await serverNow()) }

    /// The outbox in delivery order. `recordingActivity: false` for monitoring (a metrics
    /// exporter), which must not keep an idle device signed in.
    ///
    /// An entry whose deadline passed on the server's clock reads `failed` with `offer_expired`
    /// even when no process runs the engine to record it (R9, R12): what the engine will do
    /// with it is known.
    public func outbox(recordingActivity: Bool = true) async throws -> [OutboxEntry] {
        let account = try recordingActivity ? signedIn() : signedInForEngine()
        return await Self.judgingDeadlines(try await account.outbox.entries(), of: account)
    }

    /// One outbox entry; `nil` once it left the outbox (delivered or discarded). Past its
    /// deadline it reads as ``outbox(recordingActivity:)`` shows it.
    public func outboxEntry(_ key: IdempotencyKey) async throws -> OutboxEntry? {
        let account = try signedIn()
        guard let entry = try await account.outbox.entry(key) else { return nil }
        return await Self.judgingDeadlines([entry], of: account).first
    }

    /// `entries` as the engine will record them: those `pending` past their deadline on the
    /// server's clock `failed` with `offer_expired`. Nothing is judged while the server's time
    /// is unknown.
    static func judgingDeadlines(_ entries: [OutboxEntry], of account: SignedInAccount) async -> [OutboxEntry] {
        guard entries.contains(where: { $0.deadline != nil && $0.state == .pending }),
            let now = await account.serverTime.known()
        else { return entries }
        return entries.map { entry in
            var judged = entry
            _ = judged.failIfPastDeadline(serverNow: now)
            return judged
        }
    }

    /// The outbox entry that delivers `message`; `nil` once the server confirmed it. Reads only
    /// the message's conversation (an index range), however long the outbox is.
    public func outboxEntry(for message: Message) async throws -> OutboxEntry? {
        try await signedIn().outbox.entries(in: message.conversationID).first { $0.outgoingMessage?.id == message.id }
    }

    public func status() async throws -> SyncStatus {
        guard let account else {
            return SyncStatus(phase: .signedOut, lastSuccessfulSync: nil, pendingOutbox: 0, failedOutbox: 0)
        }
        var outbox: OutboxSummary
        let lastSync: Date?
        do {
            outbox = try await account.outbox.summary()
            // Entries past their deadline count as failed, as outbox() shows them.
            if outbox.pending > 0, let now = await account.serverTime.known() {
                let overdue = try await account.outbox.pendingWithDeadline().filter {
                    var entry = $0
                    return entry.failIfPastDeadline(serverNow: now)
                }.count
                outbox.pending -= overdue
                outbox.failed += overdue
            }
            lastSync = try await account.cache.syncState().lastSyncAt
        } catch  where self.account !== account {
            // Signed out while this read waited (the actor is reentrant): the files closed under
            // it. The status is the new account's, or signed out.
            return try await status()
        }
        guard self.account === account else { return try await status() }
        var status = SyncStatus(
            phase: phase, lastSuccessfulSync: [lastSync, runsEngine ? lastLiveSign : nil].compactMap { $0 }.max(),
            pendingOutbox: outbox.pending, failedOutbox: outbox.failed,
            liveReconnects: max(0, liveConnects - 1), oldestPendingSince: outbox.oldestPendingSince)
        // Beside another engine (pg-syncd), its connection is the account's connection, whether
        // or not this process tried to take the engine. A record whose process is gone (killed,
        // so it could not remove it) is ignored.
        if !runsEngine, let published = EngineState.decode(account.storage.engineState()), published.isAlive,
            let publishedPhase = published.syncPhase
        {
            status.phase = publishedPhase
            status.engineProcess = published.pid
        }
        return status
    }
}
