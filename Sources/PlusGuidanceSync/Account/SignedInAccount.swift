import Foundation
import PlusGuidanceDomain
import PlusGuidanceNetworking
import PlusGuidancePersistence

/// One signed-in account of a ``PlusGuidanceClient``: its user, its files, its transport, and the
/// engine parts that work on them (the outbox sender and the feed puller).
final class SignedInAccount: Sendable {
    let user: User
    let storage: AccountStorage
    let api: any SyncTransport
    let sender: OutboxSender
    let puller: FeedPuller
    /// Finishes when this account signs out: its observations end.
    let ended = ChangeSignal()

    init(user: User, storage: AccountStorage, api: any SyncTransport, configuration: ClientConfiguration) {
        self.user = user
        self.storage = storage
        self.api = api
        let clock = configuration.localClock
        sender = OutboxSender(
            outbox: storage.outbox, cache: storage.cache, transport: api, retry: configuration.retry, clock: clock,
            batchSize: configuration.outboxBatchSize,
            serverNow: { await ServerTime.now(api: api, cache: storage.cache, clock: clock) })
        puller = FeedPuller(cache: storage.cache, transport: api, clock: clock)
    }

    var cache: any CacheStore { storage.cache }
    var outbox: any OutboxStore { storage.outbox }
}

/// The server's time as this device estimates it: the local clock plus the offset measured on
/// the transport's answers, or the one saved at the last sync.
enum ServerTime {
    static func now(api: any SyncTransport, cache: any CacheStore, clock: any WallClock) async -> Date {
        let local = clock.now()
        if let offset = await api.serverClockOffset { return local + offset }
        return local + ((try? await cache.syncState().serverClockOffset) ?? 0)
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
