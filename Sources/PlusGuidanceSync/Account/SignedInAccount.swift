import Foundation
@_spi(PlusGuidanceTools) import PlusGuidanceDomain
@_spi(PlusGuidanceTools) import PlusGuidanceNetworking
@_spi(PlusGuidanceTools) import PlusGuidancePersistence

/// One signed-in account of a ``PlusGuidanceClient``: its user, its files, its transport, and the
/// engine parts that work on them (the outbox sender and the feed puller).
final class SignedInAccount: Sendable {
    let user: User
    let storage: AccountStorage
    let api: any SyncTransport
    let sender: OutboxSender
    let puller: FeedPuller
    /// The server's time as this device knows it.
    let serverTime: ServerTime
    /// Finishes when this account signs out: its observations end.
    let ended = ChangeSignal()

    init(user: User, storage: AccountStorage, api: any SyncTransport, configuration: ClientConfiguration) {
        self.user = user
        self.storage = storage
        self.api = api
        let clock = configuration.localClock
        let serverTime = ServerTime(
            transport: api, cache: storage.cache, elapsedClock: configuration.elapsedClock, wallClock: clock)
        self.serverTime = serverTime
        sender = OutboxSender(
            outbox: storage.outbox, cache: storage.cache, transport: api, retry: configuration.retry, clock: clock,
            batchSize: configuration.outboxBatchSize, serverNow: { await serverTime.known() })
        puller = FeedPuller(cache: storage.cache, transport: api, serverTime: serverTime)
    }

    var cache: any CacheStore { storage.cache }
    var outbox: any OutboxStore { storage.outbox }
}

/// The server's time as this device estimates it (R12), for every process of a profile.
///
/// The estimate is kept against the boot clock (``ElapsedClock``), never the wall clock, so no
/// step of the device's clock moves it. Each process measures its own on its answers, and shares
/// it through the cache's ``SyncState/serverTime``; of the two, the one measured last is used,
/// so a server step one process sees (the event stream's `time` event) reaches the others at
/// once. An estimate of an earlier boot is worth nothing: until a new answer, the server's time
/// is unknown (``known()``), and views fall back to the wall clock (``now()``).
struct ServerTime: Sendable {
    let transport: any SyncTransport
    let cache: any CacheStore
    let elapsedClock: any ElapsedClock
    let wallClock: any WallClock
    /// How far a process's estimate may be from the shared one before it replaces it: a
    /// steady clock's drift costs no write per answer; a step is shared at once.
    static let shareThreshold: TimeInterval = 0.25

    /// The freshest estimate of this boot, own or shared; `nil` when there is none.
    func estimate() async -> ServerTimeEstimate? {
        let shared = try? await cache.syncState().serverTime
        return ServerTimeEstimate.freshest(await transport.serverTimeEstimate, shared, on: elapsedClock)
    }

    /// The server's time now, or `nil` while this boot has no estimate (a new profile offline,
    /// or the first command after a reboot before any answer): what refuses or fails on server
    /// time must not guess.
    func known() async -> Date? { await estimate()?.serverNow(on: elapsedClock) }

    /// The server's time for a view: ``known()``, else the wall clock with the offset it had
    /// when the last estimate was shared (a guess, shown until the first answer).
    func now() async -> Date {
        if let known = await known() { return known }
        return wallClock.now() + ((try? await cache.syncState().serverClockOffset) ?? 0)
    }

    /// Shares this process's estimate with the profile's other processes when it is newer than
    /// the shared one and disagrees with it, or the shared one is of another boot.
    func share() async {
        guard let own = await transport.serverTimeEstimate, let serverNow = own.serverNow(on: elapsedClock)
        else { return }
        let shared = try? await cache.syncState().serverTime
        if let shared, shared.bootID == own.bootID,
            shared.sampledAt >= own.sampledAt || abs(shared.offset - own.offset) <= Self.shareThreshold
        {
            return
        }
        try? await cache.recordServerTime(own, serverClockOffset: serverNow.timeIntervalSince(wallClock.now()))
    }
}

/// The account's bearer tokens in its folder (`tokens`, 0600, sealed with the account's data
/// key), shared by every process on the profile.
///
/// Tokens that arrive before the account's folder exists (during sign-in) are held and written
/// to it before they are used. Refreshes are coordinated across processes: the refresh token is
/// single-use, and `pg` and `pg-syncd` on one kiosk profile each hold a copy, so a refresh takes
/// the account's token lock, reads the stored pair again, and refreshes only when the stored
/// pair is still the stale one; otherwise another process refreshed first and its pair is used.
actor TokenVault {
    static let file = "tokens"
    private var storage: AccountStorage?
    private var pending: APITokens??

    init(storage: AccountStorage? = nil) { self.storage = storage }

    func save(_ tokens: APITokens?) throws {
        guard let storage else {
            pending = .some(tokens)
            return
        }
        try Self.write(tokens, to: storage)
    }

    func attach(_ storage: AccountStorage) throws {
        self.storage = storage
        if let pending { try save(pending) }
        pending = nil
    }

    /// The ``PlusGuidanceNetworking/RefreshCoordinator`` of the account.
    func coordinateRefresh(
        replacing stale: APITokens, _ refresh: @escaping @Sendable () async throws -> APITokens
    ) async throws -> APITokens {
        guard let storage else { return try await refresh() }
        let lock = try await storage.acquireTokenLock()
        // Held to the end of the refresh: Swift may otherwise release (unlock) it after its last use.
        defer { withExtendedLifetime(lock) {} }
        let stored = Self.read(storage)
        if let stored, stored != stale { return stored }
        guard stored != nil else { throw PlusGuidanceAPIError.signedOut }
        do {
            let renewed = try await refresh()
            try Self.write(renewed, to: storage)
            return renewed
        } catch let error as PlusGuidanceAPIError where error == .signedOut {
            try? Self.write(nil, to: storage)
            throw error
        }
    }

    static func read(_ storage: AccountStorage) -> APITokens? {
        storage.readSecret(file).flatMap { try? JSONDecoder().decode(APITokens.self, from: $0) }
    }

    private static func write(_ tokens: APITokens?, to storage: AccountStorage) throws {
        if let tokens {
            try storage.writeSecret(file, try JSONEncoder().encode(tokens))
        } else {
            storage.removeSecret(file)
        }
    }
}
