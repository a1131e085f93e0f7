import Foundation
import PlusGuidanceDomain
import PlusGuidanceNetworking
import PlusGuidancePersistence

/// The PlusGuidance SDK for an app: one signed-in account, its offline cache and outbox, and a
/// sync engine that delivers what the user did and keeps the cache current.
///
/// Reads answer from the cache, online or not. Texts, accepts, declines and stops are written to
/// the outbox first (durably, with their idempotency key) and delivered when possible, exactly
/// once and, for messages, in order per conversation (R8). Creating an offer needs the client
/// to be online now, so it is never queued: offline it fails at once with
/// ``PlusGuidanceClientError/Code/offline``.
///
/// ```swift
/// let client = try await PlusGuidanceClient.open(ClientConfiguration(serverURL: url, profile: folder))
/// _ = try await client.signIn(email: "alice@example.com", password: secret)
/// _ = try await client.send("See you tomorrow", to: therapistID)
/// try await client.syncNow()
/// ```
///
/// Only one process runs the engine of an account (``EngineLock``); in the others, calls that
/// would run it leave the work to that process, and the status says so.
public actor PlusGuidanceClient {
    private final class Account: Sendable {
        let user: User
        let storage: AccountStorage
        let api: any SyncTransport
        /// Finishes when this account signs out: its observations end.
        let ended = Signal()
        init(user: User, storage: AccountStorage, api: any SyncTransport) {
            self.user = user
            self.storage = storage
            self.api = api
        }
    }

    /// Holds tokens that arrive before the account's folder exists (during sign-in) and writes
    /// them to it, 0600, before they are used.
    private actor TokenVault {
        static let file = "tokens.json"
        private var storage: AccountStorage?
        private var pending: APITokens??

        func save(_ tokens: APITokens?) throws {
            guard let storage else {
                pending = .some(tokens)
                return
            }
            if let tokens {
                try storage.writeSecret(Self.file, try JSONEncoder().encode(tokens))
            } else {
                storage.removeSecret(Self.file)
            }
        }

        func attach(_ storage: AccountStorage) throws {
            self.storage = storage
            if let pending { try save(pending) }
            pending = nil
        }
    }

    public nonisolated let configuration: ClientConfiguration
    private let makeTransport: SyncTransportFactory
    private var account: Account? {
        didSet { if oldValue !== account { accountChanged.fire() } }
    }
    private var engineLock: EngineLock?
    private var phase: SyncStatus.Phase = .signedOut {
        didSet { if oldValue != phase { phaseChanged.fire() } }
    }
    /// Fires on every phase change, for ``observeStatus()``.
    private let phaseChanged = Signal()
    /// Fires when an account signs in or out, for ``observeStatus()``.
    private let accountChanged = Signal()
    private var liveTask: Task<Void, Never>?
    private var liveConnects = 0
    /// Set when this process takes the engine lock: entries a crash left in flight must go back
    /// to pending (replayed with their key) before the first delivery, and only then: later an
    /// in-flight entry is a real attempt of this process.
    private var needsInFlightRecovery = false
    /// The delivery running now, if any.
    private var delivery: Task<Void, any Error>?

    private init(configuration: ClientConfiguration, transport: @escaping SyncTransportFactory) {
        self.configuration = configuration
        makeTransport = transport
    }

    /// Opens the profile, restoring the account signed in on it, if any.
    public static func open(_ configuration: ClientConfiguration) async throws -> PlusGuidanceClient {
        let http = CurlHTTPClient(configuration: configuration.http)
        return try await open(configuration) { tokens, onTokensChanged in
            PlusGuidanceAPI(
                baseURL: configuration.serverURL, http: http, tokens: tokens, retry: configuration.retry,
                localClock: configuration.localClock, onTokensChanged: onTokensChanged)
        }
    }

    /// Opens the profile with another transport than the HTTP API (the package's tests drive
    /// the engine against an in-memory server model this way).
    package static func open(
        _ configuration: ClientConfiguration, transport: @escaping SyncTransportFactory
    ) async throws -> PlusGuidanceClient {
        let client = PlusGuidanceClient(configuration: configuration, transport: transport)
        try await client.restore()
        return client
    }

    private func restore() async throws {
        guard let key = AccountStorage.currentAccount(profile: configuration.profile) else { return }
        let storage = try AccountStorage(profile: configuration.profile, account: key)
        guard let user = try await storage.cache.account(),
            let data = storage.readSecret(TokenVault.file),
            let tokens = try? JSONDecoder().decode(APITokens.self, from: data)
        else { return }
        let vault = TokenVault()
        try await vault.attach(storage)
        let api = makeTransport(tokens) { try await vault.save($0) }
        account = Account(user: user, storage: storage, api: api)
        phase = .idle
    }

    // MARK: Account

    /// The signed-in user, `nil` when signed out.
    public var currentUser: User? { account?.user }

    /// Signs in, opening (or creating) the account's cache. Tokens are stored 0600 in the
    /// account's folder before any use.
    /// - Throws: ``PlusGuidanceAPIError/badCredentials``, or `unreachable`.
    public func signIn(email: String, password: String) async throws -> User {
        let vault = TokenVault()
        let api = makeTransport(nil) { try await vault.save($0) }
        let user = try await api.login(email: email, password: password)
        let storage = try AccountStorage(profile: configuration.profile, account: user.id.rawValue)
        try await vault.attach(storage)
        try await storage.cache.setAccount(user)
        try AccountStorage.setCurrentAccount(user.id.rawValue, profile: configuration.profile)
        stopLive()
        engineLock = nil
        self.account?.ended.finish()
        account = Account(user: user, storage: storage, api: api)
        phase = .idle
        return user
    }

    /// Signs out: revokes the tokens (when the server answers) and forgets them.
    ///
    /// Unless `keepCache`, the cached server data is removed. The outbox, the only copy of what
    /// the user did and the server has not confirmed, is kept unless `discardingOutbox`: signing
    /// in to the same account again delivers it (R8: nothing the user did is dropped silently).
    /// With `discardingOutbox` and without `keepCache`, every file of the account is removed.
    /// Observations of the account end.
    public func signOut(keepCache: Bool = false, discardingOutbox: Bool = false) async throws {
        guard let account else { return }
        account.ended.finish()
        stopLive()
        try? await account.api.logout()
        engineLock = nil
        account.storage.removeSecret(TokenVault.file)
        if discardingOutbox { try await account.storage.outbox.removeAll() }
        if !keepCache {
            let outbox = try await account.storage.outbox.summary()
            if outbox.pending + outbox.failed == 0 {
                try account.storage.wipe()
            } else {
                try account.storage.wipeCache()
            }
        }
        try endSession(account)
    }

    /// Stops the live stream and hands the engine to other processes (releases the engine
    /// lock), keeping the account signed in; the next call that needs the engine takes it
    /// again. Call it before the process exits or the client is dropped, as `pg-syncd` does
    /// when it drains.
    public func close() {
        stopLive()
        engineLock = nil
        if account != nil { phase = .idle }
    }

    /// The account's session is over (signed out, or its tokens were refused and could not be
    /// refreshed): the files stay as they are, the process forgets the account.
    private func endSession(_ ended: Account) throws {
        guard account === ended else { return }
        stopLive()
        engineLock = nil
        try AccountStorage.setCurrentAccount(nil, profile: configuration.profile)
        account = nil
        phase = .signedOut
        ended.ended.finish()
    }

    /// Runs `operation`; when it fails because the tokens were refused and could not be
    /// refreshed, the client goes to the signed-out state, keeping the cache and the outbox
    /// (signing in to the same account again picks them up).
    private func signingOutOnRefusal<T>(_ account: Account, _ operation: () async throws -> T) async throws -> T {
        do {
            return try await operation()
        } catch let error as PlusGuidanceAPIError where error == .signedOut {
            account.storage.removeSecret(TokenVault.file)
            try? endSession(account)
            throw error
        }
    }

    private func signedIn() throws -> Account {
        guard let account else { throw PlusGuidanceClientError(.notSignedIn) }
        return account
    }

    // MARK: Reads (from the cache, online or not)

    /// A therapist's clients, or a client's therapist, with the presence last seen.
    public func contacts() async throws -> [Contact] {
        try await signedIn().storage.cache.contacts()
    }

    /// The conversation with `peer`, newest first: cached messages and this device's unsent ones
    /// (`pending`, or `failed` until retried or discarded).
    public func messages(with peer: UserID, limit: Int = 50) async throws -> [Message] {
        let account = try signedIn()
        return try await Self.messages(
            in: CareRelation(user: account.user, peer: peer).conversationID, limit: limit, account: account)
    }

    private static func messages(
        in conversation: ConversationID, limit: Int, account: Account
    ) async throws
        -> [Message]
    {
        let cached = try await account.storage.cache.messages(in: conversation, limit: limit, before: nil)
        let unsent = try await account.storage.outbox.entries(in: conversation)
        return Array(cached.merging(outbox: unsent, in: conversation).prefix(limit))
    }

    /// Fetches older messages than the oldest cached one into the cache. Returns how many
    /// arrived; zero once the history is complete.
    public func loadOlderMessages(with peer: UserID, limit: Int = 50) async throws -> Int {
        let account = try signedIn()
        let conversation = CareRelation(user: account.user, peer: peer).conversationID
        if try await account.storage.cache.isHistoryComplete(conversation) { return 0 }
        let oldest = try await account.storage.cache.messages(in: conversation, limit: .max, before: nil).last
        let page = try await signingOutOnRefusal(account) {
            try await account.api.messages(with: peer, limit: limit, before: oldest?.id)
        }
        try await account.storage.cache.merge(page.messages.map(Change.message))
        if !page.hasMore { try await account.storage.cache.markHistoryComplete(conversation) }
        return page.messages.count
    }

    public func offers() async throws -> [SessionOffer] { try await signedIn().storage.cache.offers() }

    /// Sessions not ended, by start time (R7), from the cache.
    public func upcomingSessions() async throws -> [Session] {
        try await signedIn().storage.cache.upcomingSessions(at: serverNow())
    }

    public func session(_ id: SessionID) async throws -> Session? { try await signedIn().storage.cache.session(id) }

    /// The session window's countdown now, on the server's clock (R6), so a skewed local clock
    /// does not change it.
    public func countdown(for session: Session) async -> SessionCountdown { session.countdown(at: await serverNow()) }

    /// The server's time now: the local clock plus the offset estimated from the server's
    /// answers (or the one saved at the last sync).
    public func serverNow() async -> Date {
        let local = configuration.localClock.now()
        guard let account else { return local }
        if let offset = await account.api.serverClockOffset { return local + offset }
        let saved = (try? await account.storage.cache.syncState().serverClockOffset) ?? 0
        return local + saved
    }

    public func outbox() async throws -> [OutboxEntry] { try await signedIn().storage.outbox.entries() }

    public func status() async throws -> SyncStatus {
        guard let account else {
            return SyncStatus(phase: .signedOut, lastSuccessfulSync: nil, pendingOutbox: 0, failedOutbox: 0)
        }
        let outbox = try await account.storage.outbox.summary()
        return SyncStatus(
            phase: phase, lastSuccessfulSync: try await account.storage.cache.syncState().lastSyncAt,
            pendingOutbox: outbox.pending, failedOutbox: outbox.failed,
            liveReconnects: max(0, liveConnects - 1), oldestPendingSince: outbox.oldestPendingSince)
    }

    // MARK: Observing (every read as an async sequence)

    /// ``contacts()`` now and each time it changes (a sync, a live presence event), until the
    /// account signs out.
    public func observeContacts() throws -> AsyncThrowingStream<[Contact], any Error> {
        let account = try signedIn()
        return observe(account, [DerivedObservation.trigger(account.storage.cache.observeContacts())]) {
            try await account.storage.cache.contacts()
        }
    }

    /// ``messages(with:limit:)`` now and each time the cache or the outbox changes, whoever
    /// changed them (a `pg send` in another process shows up here as pending, then sent).
    public func observeMessages(with peer: UserID, limit: Int = 50) throws -> AsyncThrowingStream<[Message], any Error>
    {
        let account = try signedIn()
        let conversation = CareRelation(user: account.user, peer: peer).conversationID
        return observe(
            account,
            [
                DerivedObservation.trigger(account.storage.cache.observeMessages(in: conversation, limit: limit)),
                DerivedObservation.trigger(account.storage.outbox.observeEntries(in: conversation)),
            ]
        ) { try await Self.messages(in: conversation, limit: limit, account: account) }
    }

    /// ``offers()`` now and each time they change.
    public func observeOffers() throws -> AsyncThrowingStream<[SessionOffer], any Error> {
        let account = try signedIn()
        return observe(account, [DerivedObservation.trigger(account.storage.cache.observeOffers())]) {
            try await account.storage.cache.offers()
        }
    }

    /// ``upcomingSessions()`` now and each time they change: a session created or confirmed
    /// appears without any refresh while live (R7).
    public func observeUpcomingSessions() throws -> AsyncThrowingStream<[Session], any Error> {
        let account = try signedIn()
        let clock = configuration.localClock
        return observe(account, [DerivedObservation.trigger(account.storage.cache.observeUpcomingSessions())]) {
            try await account.storage.cache.upcomingSessions(at: clock.now())
        }
    }

    /// ``session(_:)`` now and each time it changes (`nil` while not cached).
    public func observeSession(_ id: SessionID) throws -> AsyncThrowingStream<Session?, any Error> {
        let account = try signedIn()
        return observe(account, [DerivedObservation.trigger(account.storage.cache.observeSession(id))]) {
            try await account.storage.cache.session(id)
        }
    }

    /// The session's ``countdown(for:)`` every `interval` (R6) on the server's clock, and at
    /// once when the session changes (stopped by the therapist). Starts once the session is in
    /// the cache (a session just created arrives with the next change).
    public func observeCountdown(
        of id: SessionID, every interval: Duration = .seconds(1)
    ) throws
        -> AsyncThrowingStream<SessionCountdown, any Error>
    {
        let account = try signedIn()
        let ticks = AsyncThrowingStream<Void, any Error> { continuation in
            let task = Task {
                while !Task.isCancelled {
                    continuation.yield()
                    try? await Task.sleep(for: interval)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
        return observe(account, [DerivedObservation.trigger(account.storage.cache.observeSession(id)), ticks]) {
            guard let session = try await account.storage.cache.session(id) else { return nil }
            return session.countdown(at: await self.serverNow())
        }
    }

    /// ``outbox()`` now and each time it changes, including entries other processes queue.
    public func observeOutbox() throws -> AsyncThrowingStream<[OutboxEntry], any Error> {
        let account = try signedIn()
        return observe(account, [DerivedObservation.trigger(account.storage.outbox.observeEntries())]) {
            try await account.storage.outbox.entries()
        }
    }

    /// ``currentUser`` now and each time an account signs in or out (`nil` when signed out).
    public nonisolated func observeCurrentUser() -> AsyncThrowingStream<User?, any Error> {
        DerivedObservation.values(triggers: [DerivedObservation.trigger(accountChanged.stream())]) {
            .some(await self.currentUser)
        }
    }

    /// ``status()`` now and each time it changes: the phase (connecting, syncing with its
    /// progress, live, offline with its reason, signed out), the last successful sync (also one
    /// made by another process on the profile) and the outbox counts. Unlike the other
    /// observations it goes on across sign-out and sign-in.
    public nonisolated func observeStatus() -> AsyncThrowingStream<SyncStatus, any Error> {
        DerivedObservation.values(
            triggers: [
                DerivedObservation.trigger(phaseChanged.stream()), DerivedObservation.trigger(accountChanged.stream()),
                accountStorageTriggers(),
            ]
        ) { try await self.status() }
    }

    /// Ticks on commits to the signed-in account's outbox and sync state, following sign-in and
    /// sign-out.
    private nonisolated func accountStorageTriggers() -> AsyncThrowingStream<Void, any Error> {
        AsyncThrowingStream { continuation in
            let accountChanges = accountChanged.stream()
            let task = Task {
                var changes = accountChanges.makeAsyncIterator()
                while !Task.isCancelled {
                    if let account = await self.account {
                        await withTaskGroup(of: Void.self) { group in
                            for trigger in [
                                DerivedObservation.trigger(account.storage.outbox.observeSummary()),
                                DerivedObservation.trigger(account.storage.cache.observeSyncState()),
                            ] {
                                group.addTask {
                                    do { for try await _ in trigger { continuation.yield() } } catch {}
                                }
                            }
                            group.addTask { for await _ in account.ended.stream() {} }
                            await group.next()
                            group.cancelAll()
                        }
                    } else if await changes.next() == nil {
                        return
                    }
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    private func observe<T: Equatable & Sendable>(
        _ account: Account, _ triggers: [AsyncThrowingStream<Void, any Error>],
        fetch: @escaping @Sendable () async throws -> T?
    ) -> AsyncThrowingStream<T, any Error> {
        DerivedObservation.values(triggers: triggers, until: account.ended, fetch: fetch)
    }

    // MARK: Writes

    /// Queues a text to `peer` and tries to deliver it now. Returns the message as shown while
    /// pending. Offline it stays queued and is delivered on the next sync (R8).
    /// - Throws: ``DomainError/notAParticipant`` when `peer` is not a contact, the body errors
    ///   of ``MessageBody``.
    public func send(_ text: String, to peer: UserID) async throws -> Message {
        let account = try signedIn()
        let contacts = try await account.storage.cache.contacts()
        let pair = contacts.contains { $0.id == peer } ? CareRelation(user: account.user, peer: peer) : nil
        let message = try Message.text(
            id: MessageID("msg_" + Self.token()), from: account.user.id, to: peer, within: pair, body: text,
            at: await serverNow(), deliveryState: .pending)
        _ = try await enqueue(.sendMessage(message), in: account)
        return message
    }

    /// Queues the acceptance of an offer; the server decides (an accept after expiry fails as
    /// `offer_expired` and stays visible in the outbox).
    public func accept(_ offer: OfferID) async throws -> OutboxEntry {
        try await enqueue(.acceptOffer(offer), in: signedIn())
    }
    public func decline(_ offer: OfferID) async throws -> OutboxEntry {
        try await enqueue(.declineOffer(offer), in: signedIn())
    }
    /// Queues stopping a session (therapist only; the server decides).
    public func stop(_ session: SessionID) async throws -> OutboxEntry {
        try await enqueue(.stopSession(session), in: signedIn())
    }

    /// Offers an Instant Session now. Needs the server and the client online: offline it fails
    /// at once and nothing is queued (R8).
    /// - Throws: ``PlusGuidanceClientError/Code/offline``, or the Domain's refusal
    ///   (`client_offline`, `not_your_client`, `invalid_duration`…) as
    ///   ``PlusGuidanceAPIError/rejected(_:status:)``.
    public func createOffer(to client: UserID, options: OfferOptions) async throws -> SessionOffer {
        let account = try signedIn()
        try options.validate(at: await serverNow())
        do {
            let offer = try await signingOutOnRefusal(account) {
                try await account.api.createOffer(
                    to: client, options: options, idempotencyKey: IdempotencyKey("k_" + Self.token()))
            }
            try await account.storage.cache.merge([.offer(offer)])
            return offer
        } catch let error as PlusGuidanceAPIError where error == .unreachableCode {
            phase = .offline(reason: error.offlineReason)
            throw PlusGuidanceClientError(.offline, reason: "creating an offer needs a connection to the server")
        }
    }

    /// Puts a failed entry back in the queue, with its key, and tries to deliver it.
    public func retry(_ key: IdempotencyKey) async throws {
        let account = try signedIn()
        guard var entry = try await account.storage.outbox.entry(key) else {
            throw PlusGuidanceClientError(.unknownOutboxEntry)
        }
        entry.retry()
        try await account.storage.outbox.update(entry)
        _ = try? await deliverIfEngine(account)
    }

    /// Gives up a failed or pending entry (never one in flight: its outcome is unknown).
    public func discard(_ key: IdempotencyKey) async throws {
        let account = try signedIn()
        guard let entry = try await account.storage.outbox.entry(key), entry.state != .inFlight else {
            throw PlusGuidanceClientError(.unknownOutboxEntry)
        }
        try await account.storage.outbox.remove(key)
    }

    /// Queues `action` durably, then attempts it at once unless it waits behind an earlier
    /// message of its conversation (which the engine delivers first, then this one).
    private func enqueue(_ action: OutboxAction, in account: Account) async throws -> OutboxEntry {
        let entry = try await account.storage.outbox.enqueue(
            OutboxEntry(
                id: IdempotencyKey("k_" + Self.token()), action: action, enqueuedAt: configuration.localClock.now()))
        guard try await !account.storage.outbox.isQueuedBehindAnother(entry.id) else { return entry }
        _ = try? await deliverIfEngine(account)
        return try await account.storage.outbox.entry(entry.id) ?? entry
    }

    // MARK: Sync

    /// Delivers the outbox (entries waiting for a retry time included) and pulls the feed to
    /// the end, now. Another process running the
    /// engine (``SyncStatus/Phase/runByAnotherProcess``) makes this a no-op.
    /// - Throws: ``PlusGuidanceAPIError`` `unreachable` when the server cannot be reached
    ///   (everything stays queued); `signed_out` when the tokens were refused and could not be
    ///   refreshed: the client is then signed out, with its cache and outbox kept for the next
    ///   sign-in to the same account.
    /// - Parameter progress: called after each feed page with the changes applied so far in this
    ///   sync and, when the server counted them, the total.
    public func syncNow(progress: (@Sendable (SyncProgress) -> Void)? = nil) async throws {
        let account = try signedIn()
        guard takeEngine(account) else { return }
        do {
            try await signingOutOnRefusal(account) {
                try await deliver(account, ignoringBackoff: true)
                try await pull(account, progress: progress)
            }
            if case .live = phase {} else { phase = .idle }
        } catch let error as PlusGuidanceAPIError where error == .unreachableCode {
            phase = .offline(reason: error.offlineReason)
            throw error
        } catch let error as PlusGuidanceAPIError where error != .signedOut {
            if case .live = phase {} else { phase = .error(reason: error.problemCode ?? error.code) }
            throw error
        }
    }

    /// Whether this process runs the engine; takes the account's lock when free.
    private func takeEngine(_ account: Account) -> Bool {
        if engineLock != nil { return true }
        do {
            engineLock = try account.storage.acquireEngineLock()
            needsInFlightRecovery = true
            return true
        } catch {
            phase = .runByAnotherProcess
            return false
        }
    }

    private func deliverIfEngine(_ account: Account) async throws {
        guard takeEngine(account) else { return }
        do {
            try await signingOutOnRefusal(account) { try await deliver(account) }
        } catch let error as PlusGuidanceAPIError where error == .unreachableCode {
            if case .live = phase {} else { phase = .offline(reason: error.offlineReason) }
            throw error
        }
    }

    /// Attempts every due outbox entry; stops at the first sign of being offline. With
    /// `ignoringBackoff` (the user asked to sync now), entries waiting for a retry time go too.
    private func deliver(_ account: Account, ignoringBackoff: Bool = false) async throws {
        // One delivery at a time: through actor reentrancy a live tick, a sync and a new action
        // could otherwise read the same pending entry and send it twice (the server's
        // idempotency would absorb it, at the cost of a request).
        while let running = delivery { _ = await running.result }
        let task = Task { try await self.deliverRounds(account, ignoringBackoff: ignoringBackoff) }
        delivery = task
        defer { delivery = nil }
        try await withTaskCancellationHandler {
            try await task.value
        } onCancel: {
            task.cancel()
        }
    }

    private func deliverRounds(_ account: Account, ignoringBackoff: Bool) async throws {
        if needsInFlightRecovery {
            // Entries a crash left in flight have an unknown outcome: replay them with their key.
            needsInFlightRecovery = false
            _ = try await account.storage.outbox.recoverInFlight()
        }
        // Rounds: read the outbox once, attempt what is deliverable in order, then read it again
        // for what was queued meanwhile. Each entry is attempted at most once per call.
        var attempted: Set<IdempotencyKey> = []
        while true {
            let now = configuration.localClock.now()
            let round = OutboxSchedule.deliverable(
                try await account.storage.outbox.entries(), at: ignoringBackoff ? .distantFuture : now
            ).filter { !attempted.contains($0.id) }
            attempted.formUnion(round.map(\.id))
            guard !round.isEmpty else { return }
            var stopped: Set<ConversationID> = []
            for var entry in round {
                if let conversation = entry.action.orderingConversation, stopped.contains(conversation) { continue }
                entry.beginAttempt()
                try await account.storage.outbox.update(entry, durably: false)
                // From here on the request may have gone out: its outcome is recorded even when
                // this task is cancelled (the stream closed, the caller gave up), or the entry
                // would stay in flight, never attempted again by this process.
                let outbox = account.storage.outbox
                do {
                    let changes = try await perform(entry.action, key: entry.id, api: account.api)
                    let cache = account.storage.cache
                    let key = entry.id
                    try await Self.uncancelled {
                        try await cache.merge(changes)
                        try await outbox.remove(key, durably: false)
                    }
                } catch let error as PlusGuidanceAPIError {
                    switch error.code {
                    case "rejected", "request_rejected":
                        let code = error.domainError?.code ?? error.problemCode ?? error.code
                        entry.failPermanently(
                            OutboxFailure(code: code, reason: error.domainError?.shortDescription ?? "\(error)"))
                        let failed = entry
                        try await Self.uncancelled { try await outbox.update(failed, durably: false) }
                        if let conversation = entry.action.orderingConversation { stopped.insert(conversation) }
                    default:
                        let backoff = configuration.retry.backoff(entry.attempts)
                        entry.failTransiently(
                            OutboxFailure(code: error.transport?.code ?? error.code, reason: "\(error)"),
                            retryAt: now + TimeInterval(backoff.components.seconds) + Double(
                                backoff.components.attoseconds) / 1e18)
                        let waiting = entry
                        try await Self.uncancelled { try await outbox.update(waiting, durably: false) }
                        throw error
                    }
                } catch  where Task.isCancelled {
                    // Cancelled with the outcome unknown: back to the queue, replayed with its key.
                    entry.failTransiently(
                        OutboxFailure(code: "cancelled", reason: "the attempt was cancelled"), retryAt: now)
                    let interrupted = entry
                    try? await Self.uncancelled { try await outbox.update(interrupted, durably: false) }
                    throw error
                }
            }
        }
    }

    /// Runs `work` to completion whatever happens to the calling task.
    private static func uncancelled(_ work: @escaping @Sendable () async throws -> Void) async throws {
        try await Task { try await work() }.value
    }

    private func perform(_ action: OutboxAction, key: IdempotencyKey, api: any SyncTransport) async throws -> [Change] {
        switch action {
        case .sendMessage(let message): return [.message(try await api.send(message, idempotencyKey: key))]
        case .acceptOffer(let id):
            let (offer, session) = try await api.accept(id, idempotencyKey: key)
            return [.offer(offer)] + (session.map { [.session($0)] } ?? [])
        case .declineOffer(let id): return [.offer(try await api.decline(id, idempotencyKey: key))]
        case .stopSession(let id): return [.session(try await api.stop(id, idempotencyKey: key))]
        }
    }

    /// Pulls the feed after the saved cursor, ten pages per commit; a cursor the server no
    /// longer knows triggers a full resync that replaces the cache in one step (the outbox,
    /// in its own store, is untouched). The first page asks the server for the count of what
    /// follows, the progress total.
    private func pull(_ account: Account, progress: (@Sendable (SyncProgress) -> Void)? = nil) async throws {
        let cache = account.storage.cache
        var cursor = try await cache.syncState().cursor
        var batch: [ChangePage] = []
        var done = SyncProgress(changesApplied: 0, total: nil)
        var first = true
        do {
            while true {
                let page = try await account.api.changes(after: cursor, limit: Self.pageSize, countRemaining: first)
                first = false
                batch.append(page)
                cursor = page.cursor
                done.record(page)
                if batch.count == 10 || !page.hasMore {
                    try await cache.apply(batch)
                    batch = []
                    phase = .syncing(done)
                    progress?(done)
                }
                if !page.hasMore { break }
            }
        } catch let error as PlusGuidanceAPIError where error == .cursorTooOld {
            try await resync(account, progress: progress)
        }
        // Presence is not part of the feed (R2): refresh it with the contacts.
        try await cache.updatePresence(try await account.api.contacts().map(\.presence))
        try await cache.recordSync(
            at: configuration.localClock.now(), serverClockOffset: await account.api.serverClockOffset ?? 0)
    }

    /// Fetches the whole feed, then replaces the cache with it in one transaction: the cache
    /// never shows a half-resynchronised state.
    private func resync(_ account: Account, progress: (@Sendable (SyncProgress) -> Void)?) async throws {
        var changes: [Change] = []
        var cursor: FeedCursor?
        var done = SyncProgress(changesApplied: 0, total: nil)
        while true {
            let page = try await account.api.changes(
                after: cursor, limit: Self.pageSize, countRemaining: cursor == nil)
            changes += page.changes
            cursor = page.cursor
            done.record(page)
            progress?(done)
            if !page.hasMore { break }
        }
        if let cursor { try await account.storage.cache.replaceAll(with: ChangePage(changes: changes, cursor: cursor)) }
    }

    // MARK: Live

    /// Keeps the cache current through the event stream (R7) and the user online (R2) until
    /// ``stopLive()``: reconnects with backoff after the last event id, detects a dead stream by
    /// missed heartbeats, and catches up from the feed after every (re)connection.
    public func startLive() async throws {
        let account = try signedIn()
        guard liveTask == nil else { return }
        guard takeEngine(account) else { return }
        let cursor = try await account.storage.cache.syncState().cursor
        liveTask = Task { await self.runLive(account, cursor: cursor) }
    }

    public func stopLive() {
        liveTask?.cancel()
        liveTask = nil
        if case .live = phase { phase = .idle }
    }

    private func runLive(_ account: Account, cursor: FeedCursor?) async {
        var machine = LiveConnectionMachine(cursor: cursor)
        machine.heartbeatTimeout = configuration.liveHeartbeatTimeout
        var actions = machine.start(at: configuration.localClock.now())
        var stream: Task<Void, Never>?
        // Catch-up and delivery run beside the loop, never in it: a request stuck behind a dead
        // connection must not stop the loop from noticing the missed heartbeats.
        var work: (id: Int, task: Task<Void, Never>)?
        var workCount = 0
        let (signals, signal) = AsyncStream.makeStream(of: LiveSignal.self)
        func startWork(_ body: @escaping @Sendable () async -> Void) {
            work?.task.cancel()
            workCount += 1
            let id = workCount
            work = (
                id,
                Task {
                    await body()
                    signal.yield(.workDone(id))
                }
            )
        }
        let ticker = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                signal.yield(.tick)
            }
        }
        // Entries queued by another process on the profile (`pg send` beside `pg-syncd`) are
        // seen within the observation's polling interval, not at the next tick.
        let outboxWatcher = Task {
            do {
                for try await _ in account.storage.outbox.observeSummary() { signal.yield(.outboxChanged) }
            } catch {}
        }
        defer {
            ticker.cancel()
            outboxWatcher.cancel()
            stream?.cancel()
            work?.task.cancel()
        }
        var iterator = signals.makeAsyncIterator()
        while !Task.isCancelled {
            for action in actions {
                switch action {
                case .connect(let after):
                    liveConnects += 1
                    phase = .connecting
                    stream?.cancel()
                    stream = Task { await Self.follow(account.api, after: after, signal: signal) }
                case .disconnect:
                    stream?.cancel()
                    stream = nil
                    work?.task.cancel()
                    work = nil
                    phase = .offline(reason: "event_stream_lost")
                case .catchUp:
                    phase = .live
                    startWork { await self.catchUp(account) }
                case .wake:
                    break
                }
            }
            guard let next = await iterator.next() else { return }
            let now = configuration.localClock.now()
            switch next {
            case .opened: actions = machine.connected(at: now)
            case .event(let event):
                actions = machine.received(cursor: event.cursor, at: now)
                try? await apply(event, to: account)
            case .failed: actions = machine.failed(at: now)
            case .tick:
                actions = machine.tick(at: now)
                if case .live = phase, work == nil { startWork { try? await self.deliver(account) } }
            case .outboxChanged:
                actions = []
                if case .live = phase, work == nil { startWork { try? await self.deliver(account) } }
            case .workDone(let id):
                actions = []
                if work?.id == id { work = nil }
            }
        }
        _ = machine.stop()
    }

    private enum LiveSignal: Sendable {
        case opened
        case event(LiveEvent)
        case failed
        case tick
        case outboxChanged
        case workDone(Int)
    }

    /// After the stream (re)opened: what was queued goes out, what changed while not connected
    /// comes in. A refusal of the tokens signs out (which stops the live task).
    private func catchUp(_ account: Account) async {
        do {
            try await signingOutOnRefusal(account) {
                try await deliver(account)
                try await pull(account)
            }
        } catch {}
        if !Task.isCancelled, self.account === account, liveTask != nil { phase = .live }
    }

    private static func follow(
        _ api: any SyncTransport, after: FeedCursor?, signal: AsyncStream<LiveSignal>.Continuation
    ) async {
        do {
            let events = try await api.events(after: after)
            signal.yield(.opened)
            for try await event in events { signal.yield(.event(event)) }
        } catch {}
        if !Task.isCancelled { signal.yield(.failed) }
    }

    private func apply(_ event: LiveEvent, to account: Account) async throws {
        switch event {
        case .change(let change, _): try await account.storage.cache.merge([change])
        case .presence(let user, let online):
            try await account.storage.cache.updatePresence([
                Presence(userID: user, isOnline: online, lastSeenAt: await serverNow())
            ])
        case .heartbeat: break
        }
    }

    // MARK: Helpers

    /// Feed page size: the server's default, a few hundred kilobytes of JSON.
    static let pageSize = 500

    private static func token() -> String { UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "") }
}

extension PlusGuidanceAPIError {
    /// The stable code an `unreachable` error puts in ``SyncStatus/Phase/offline(reason:)``.
    fileprivate var offlineReason: String { transport?.code ?? "unreachable" }
}

extension LiveEvent {
    fileprivate var cursor: FeedCursor? {
        if case .change(_, let cursor) = self { return cursor }
        return nil
    }
}
