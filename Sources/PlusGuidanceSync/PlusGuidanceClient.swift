// Foundation is re-exported: the API speaks `URL`, `Date`, `Data` and `TimeInterval`, and an app
// that writes `import PlusGuidanceSync` alone compiles.
@_exported import Foundation
@_exported import PlusGuidanceDomain
@_spi(PlusGuidanceTools) import PlusGuidanceDomain
@_exported import PlusGuidanceNetworking
// Re-exported so that `import PlusGuidanceSync` alone reaches everything an app configures or
// matches: key providers, `PersistenceError`, the integrity-check policy, key rotation.
@_exported import PlusGuidancePersistence

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
/// The client is a thin facade over its parts, each in its own file:
/// - `AccountSession` and `TokenVault`: sign-in, sign-out, tokens, restoring the account;
/// - `OutboxSender`: the only code that sends outbox entries;
/// - `FeedPuller`: the change feed into the cache;
/// - `LiveSession`: the event stream, kept open;
/// - the read side: `PlusGuidanceClient+Reads.swift` and `+Observation.swift`.
///
/// Only one process runs the engine of an account (`EngineLock`); in the others, actions are
/// queued for that process to deliver, and ``outcome(of:waitingUpTo:)`` waits for its answer.
public actor PlusGuidanceClient {
    public nonisolated let configuration: ClientConfiguration
    let makeTransport: SyncTransportFactory
    var account: SignedInAccount? {
        didSet { if oldValue !== account { accountChanged.fire() } }
    }
    /// How many one-off syncs and deliveries hold the engine now (see ``withEngine(_:_:)``).
    var engineUses = 0
    private var engineLock: EngineLock? {
        didSet {
            guard oldValue !== engineLock, let account else { return }
            account.storage.publishEngineState(engineLock == nil ? nil : EngineState(phase).encoded())
        }
    }
    /// Whether this process holds the account's engine lock.
    var runsEngine: Bool { engineLock != nil }
    var phase: SyncStatus.Phase = .signedOut {
        didSet {
            guard oldValue != phase else { return }
            phaseChanged.fire()
            // The other processes of the profile read what the engine does from here: rewritten
            // when the record changes, not for every page of a sync's progress.
            let record = EngineState(phase)
            if engineLock != nil, record != EngineState(oldValue), let account {
                account.storage.publishEngineState(record.encoded())
            }
        }
    }
    /// Fires on every phase change, for ``observeStatus()``.
    let phaseChanged = ChangeSignal()
    /// Fires when an account signs in or out, for ``observeStatus()``.
    let accountChanged = ChangeSignal()
    /// The live session and the sending task, while live.
    var liveTasks: [Task<Void, Never>] = []
    var liveConnects = 0
    /// Pulls again and again while a live change could not be stored (a full disk), until one
    /// gets through: the cache is stale meanwhile.
    var staleCacheRecovery: Task<Void, Never>?
    /// When this process's live stream last said something (an event stored, or a heartbeat)
    /// while the cache was current, on the server's clock: the cache was up to date then.
    var lastLiveSign: Date?
    /// Signs the account out after ``ClientConfiguration/idleSignOut`` without activity.
    private var idleWatch: Task<Void, Never>?
    /// When this process last recorded activity (it records at most once a second).
    private var activityRecorded: ContinuousClock.Instant?

    private init(configuration: ClientConfiguration, transport: @escaping SyncTransportFactory) {
        self.configuration = configuration
        makeTransport = transport
    }

    /// Opens the profile, restoring the account signed in on it, if any.
    public static func open(_ configuration: ClientConfiguration) async throws -> PlusGuidanceClient {
        let http = CurlHTTPClient(configuration: configuration.http)
        return try await open(configuration) { credentials in
            PlusGuidanceAPI(
                baseURL: configuration.serverURL, http: http, tokens: credentials.tokens, retry: configuration.retry,
                deadlines: configuration.deadlines, elapsedClock: configuration.elapsedClock,
                onTokensChanged: credentials.save,
                refreshCoordinator: credentials.coordinateRefresh)
        }
    }

    /// Opens the profile with another transport than the HTTP API (the package's tests drive
    /// the engine against an in-memory server model this way).
    @_spi(PlusGuidanceTools) public static func open(
        _ configuration: ClientConfiguration, transport: @escaping SyncTransportFactory
    ) async throws -> PlusGuidanceClient {
        let client = PlusGuidanceClient(configuration: configuration, transport: transport)
        try await client.restore()
        return client
    }

    private func restore() async throws {
        guard let restored = try await AccountSession.restore(configuration, transport: makeTransport) else { return }
        account = restored
        // Nothing is known of the server until this process (or the engine beside it) hears
        // from it: a daemon whose server never answers must not read as online meanwhile.
        phase = .connecting
        watchIdleness(of: restored)
    }

    /// When signed out, picks up the account another process signed in on the profile since
    /// (`pg login` beside `pg-syncd`); returns the signed-in user.
    public func reloadAccount() async throws -> User? {
        if account == nil { try await restore() }
        return account?.user
    }

    /// Returns when the signed-in account's session ends (a sign-out, an idle sign-out, tokens
    /// refused for good), at once when signed out; a cancelled task returns too. For a daemon
    /// with nothing else to wait for: no timer, no polling.
    public func accountEnded() async {
        guard let account else { return }
        for await _ in account.ended.stream() {}
    }

    // MARK: Account

    /// The signed-in user, `nil` when signed out.
    public var currentUser: User? { account?.user }

    /// Signs in, opening (or creating) the account's cache. Tokens are stored sealed in the
    /// account's folder before any use.
    ///
    /// A profile holds one account at a time: signed in to another account, the profile's
    /// current one is replaced (its observations end; its files and undelivered outbox stay,
    /// for its next sign-in), and the profile opens on this one from now on.
    /// - Throws: `PlusGuidanceAPIError.badCredentials`, or `unreachable`.
    public func signIn(email: String, password: String) async throws -> User {
        let signedIn = try await AccountSession.signIn(
            email: email, password: password, configuration: configuration, transport: makeTransport)
        stopLive()
        engineLock = nil
        account?.ended.finish()
        account = signedIn
        phase = .idle
        activityRecorded = nil
        recordActivity()
        watchIdleness(of: signedIn)
        return signedIn.user
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
        // Signed out first, files second: a read that runs meanwhile (the status observation,
        // through actor reentrancy) sees no account rather than a closed database.
        try endSession(account)
        try await AccountSession.signOut(account, keepCache: keepCache, discardingOutbox: discardingOutbox)
    }

    /// Stops the live stream and hands the engine to other processes (releases the engine
    /// lock), keeping the account signed in; the next call that needs the engine takes it
    /// again. Call it before the process exits or the client is dropped, as `pg-syncd` does
    /// when it drains.
    public func close() {
        stopLive()
        // Before the engine is handed over: the next process to open the cache does not rebuild
        // its WAL index from a large WAL (SQLiteCacheStore.compactWAL()).
        if engineLock != nil { account?.storage.cache.compactWAL() }
        engineLock = nil
        if account != nil { phase = .idle }
    }

    /// ``close()``, then waits up to `limit` for the live connection and the outbox sender to
    /// end, so nothing of the client runs once it returns (the C library's `pg_client_close`:
    /// an app may unload it, or exit, right after).
    @_spi(PlusGuidanceTools) public func closeAndWait(upTo limit: Duration = .seconds(2)) async {
        let running = liveTasks
        close()
        await withTaskGroup(of: Void.self) { group in
            group.addTask { for task in running { await task.value } }
            group.addTask { try? await Task.sleep(for: limit) }
            await group.next()
            group.cancelAll()
        }
        // The live stream's transfer is cancelled by now; wait for the transfer thread to drop it.
        await account?.api.settle()
    }

    /// The account's session is over (signed out, or its tokens were refused and could not be
    /// refreshed): the files stay as they are, the process forgets the account.
    private func endSession(_ ended: SignedInAccount) throws {
        guard account === ended else { return }
        idleWatch?.cancel()
        idleWatch = nil
        stopLive()
        engineLock = nil
        try AccountSession.forget(profile: configuration.profile)
        account = nil
        phase = .signedOut
        ended.ended.finish()
    }

    /// Runs `operation`; when it fails because the tokens were refused and could not be
    /// refreshed, the client goes to the signed-out state, keeping the cache and the outbox
    /// (signing in to the same account again picks them up).
    func signingOutOnRefusal<T>(_ account: SignedInAccount, _ operation: () async throws -> T) async throws -> T {
        do {
            return try await operation()
        } catch let error as PlusGuidanceAPIError where error == .signedOut {
            AccountSession.tokensRefused(account)
            try? endSession(account)
            throw error
        }
    }

    /// The signed-in account, for a call the user made: it counts as activity (idle sign-out).
    func signedIn() throws -> SignedInAccount {
        guard let account else { throw PlusGuidanceClientError(.notSignedIn) }
        recordActivity()
        return account
    }

    /// The signed-in account, for the engine's own work, which is not user activity.
    func signedInForEngine() throws -> SignedInAccount {
        guard let account else { throw PlusGuidanceClientError(.notSignedIn) }
        return account
    }

    /// Records that the user is active now, for every process of the profile: idle sign-out
    /// (``ClientConfiguration/idleSignOut``) counts from the last activity. Every read and write
    /// of the SDK records it; an app also calls this on user input that reaches no SDK call.
    public func recordActivity() {
        guard let account else { return }
        let now = ContinuousClock.now
        if let activityRecorded, activityRecorded.duration(to: now) < .seconds(1) { return }
        activityRecorded = now
        account.storage.recordActivity()
    }

    /// Signs `watched` out once it has been idle for ``ClientConfiguration/idleSignOut``,
    /// looking at the profile's shared record of activity, so commands in other processes
    /// keep it signed in.
    private func watchIdleness(of watched: SignedInAccount) {
        idleWatch?.cancel()
        guard let limit = configuration.idleSignOut else { return }
        let started = Date()
        let seconds = limit.timeInterval
        let interval = Duration.milliseconds(Int64(1_000 * min(30, max(0.2, seconds / 10))))
        idleWatch = Task { [weak self] in
            while !Task.isCancelled {
                let last = max(watched.storage.lastActivity() ?? started, started)
                if Date().timeIntervalSince(last) >= seconds {
                    await self?.idleSignOut(watched)
                    return
                }
                try? await Task.sleep(for: interval)
            }
        }
    }

    private func idleSignOut(_ idle: SignedInAccount) async {
        guard account === idle else { return }
        idleWatch = nil
        try? await signOut()
    }

    /// Whether this process runs the engine; takes the account's lock when free.
    func takeEngine(_ account: SignedInAccount) async -> Bool {
        if engineLock != nil { return true }
        do {
            engineLock = try account.storage.acquireEngineLock()
            await account.sender.engineAcquired()
            return true
        } catch {
            phase = .runByAnotherProcess
            return false
        }
    }

    /// Runs `body` with the engine when this process has it or can take it (nil when another
    /// process runs it). A client that is not live lets go of the engine once no such call
    /// holds it: a long-lived app that synced once must not keep `pg-syncd` from going live,
    /// nor keep the texts other processes queue from being delivered.
    func withEngine<T>(_ account: SignedInAccount, _ body: () async throws -> T) async throws -> T? {
        guard await takeEngine(account) else { return nil }
        engineUses += 1
        defer {
            engineUses -= 1
            if engineUses == 0, liveTasks.isEmpty {
                // Handed back with an empty WAL, so that the next processes to open the cache
                // do not rebuild its index from a large one (SQLiteCacheStore.compactWAL()).
                account.storage.cache.compactWAL()
                engineLock = nil
            }
        }
        return try await body()
    }

    /// The server's time now, as this device estimates it (R12): measured on the server's
    /// answers against a clock no step of the device's own clock moves, and shared by the
    /// profile's processes. Until the first estimate of this boot, a guess from the device's
    /// clock: use ``knownServerTime()`` where a guess must not decide.
    public func serverNow() async -> Date {
        guard let account else { return configuration.localClock.now() }
        return await account.serverTime.now()
    }

    /// The server's time now, or `nil` while this boot has no estimate of it yet: a new profile
    /// that never reached the server, or a device restarted since, until an answer comes (any
    /// call that reaches the server, or ``syncNow(progress:)``).
    public func knownServerTime() async -> Date? {
        guard let account else { return nil }
        return await account.serverTime.known()
    }

    static func token() -> String { UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "") }
}

extension PlusGuidanceAPIError {
    /// The stable code an `unreachable` error puts in ``SyncStatus/Phase/offline(reason:)``.
    var offlineReason: String { transport?.code ?? "unreachable" }
}
