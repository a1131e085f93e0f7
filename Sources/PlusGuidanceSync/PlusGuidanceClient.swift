import Foundation
@_exported import PlusGuidanceDomain
@_exported import PlusGuidanceNetworking
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
/// The client is a thin facade over its parts, each in its own file:
/// - ``AccountSession`` and ``TokenVault``: sign-in, sign-out, tokens, restoring the account;
/// - ``OutboxSender``: the only code that sends outbox entries;
/// - ``FeedPuller``: the change feed into the cache;
/// - ``LiveSession``: the event stream, kept open;
/// - the read side: `PlusGuidanceClient+Reads.swift` and `+Observation.swift`.
///
/// Only one process runs the engine of an account (``EngineLock``); in the others, actions are
/// queued for that process to deliver, and ``outcome(of:waitingUpTo:)`` waits for its answer.
public actor PlusGuidanceClient {
    public nonisolated let configuration: ClientConfiguration
    let makeTransport: SyncTransportFactory
    var account: SignedInAccount? {
        didSet { if oldValue !== account { accountChanged.fire() } }
    }
    private var engineLock: EngineLock?
    var phase: SyncStatus.Phase = .signedOut {
        didSet { if oldValue != phase { phaseChanged.fire() } }
    }
    /// Fires on every phase change, for ``observeStatus()``.
    let phaseChanged = ChangeSignal()
    /// Fires when an account signs in or out, for ``observeStatus()``.
    let accountChanged = ChangeSignal()
    /// The live session and the sending task, while live.
    var liveTasks: [Task<Void, Never>] = []
    var liveConnects = 0

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
                deadlines: configuration.deadlines, localClock: configuration.localClock,
                onTokensChanged: credentials.save,
                refreshCoordinator: credentials.coordinateRefresh)
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
        guard let restored = try await AccountSession.restore(configuration, transport: makeTransport) else { return }
        account = restored
        phase = .idle
    }

    // MARK: Account

    /// The signed-in user, `nil` when signed out.
    public var currentUser: User? { account?.user }

    /// Signs in, opening (or creating) the account's cache. Tokens are stored 0600 in the
    /// account's folder before any use.
    /// - Throws: ``PlusGuidanceAPIError/badCredentials``, or `unreachable`.
    public func signIn(email: String, password: String) async throws -> User {
        let signedIn = try await AccountSession.signIn(
            email: email, password: password, configuration: configuration, transport: makeTransport)
        stopLive()
        engineLock = nil
        account?.ended.finish()
        account = signedIn
        phase = .idle
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
        engineLock = nil
        if account != nil { phase = .idle }
    }

    /// The account's session is over (signed out, or its tokens were refused and could not be
    /// refreshed): the files stay as they are, the process forgets the account.
    private func endSession(_ ended: SignedInAccount) throws {
        guard account === ended else { return }
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

    func signedIn() throws -> SignedInAccount {
        guard let account else { throw PlusGuidanceClientError(.notSignedIn) }
        return account
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

    /// The server's time now: the local clock plus the offset estimated from the server's
    /// answers (or the one saved at the last sync).
    public func serverNow() async -> Date {
        guard let account else { return configuration.localClock.now() }
        return await ServerTime.now(api: account.api, cache: account.cache, clock: configuration.localClock)
    }

    static func token() -> String { UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "") }
}

extension PlusGuidanceAPIError {
    /// The stable code an `unreachable` error puts in ``SyncStatus/Phase/offline(reason:)``.
    var offlineReason: String { transport?.code ?? "unreachable" }
}
