import Foundation
@_spi(PlusGuidanceTools) import PlusGuidanceDomain
@_spi(PlusGuidanceTools) import PlusGuidanceNetworking
@_spi(PlusGuidanceTools) import PlusGuidancePersistence

/// Sign-in, sign-out and restoring the account signed in on a profile.
///
/// What it guarantees:
/// - Tokens reach the account's folder (0600) before any use, and refreshes are shared with
///   the other processes on the profile (``TokenVault``).
/// - Signing out keeps what the user did: the outbox stays while it holds anything, and the
///   next sign-in to the same account delivers it (R8), unless the caller discards it.
enum AccountSession {
    /// The account recorded as signed in on the profile, with its stored tokens; `nil` when
    /// there is none or its tokens are gone.
    static func restore(
        _ configuration: ClientConfiguration, transport: SyncTransportFactory
    ) async throws -> SignedInAccount? {
        guard let key = AccountStorage.currentAccount(profile: configuration.profile) else { return nil }
        let storage = try AccountStorage(
            profile: configuration.profile, account: key, keys: configuration.keys,
            cacheIntegrityCheck: configuration.cacheIntegrityCheck, access: configuration.access)
        guard let tokens = TokenVault.read(storage), let user = try await signedInUser(storage) else { return nil }
        let vault = TokenVault(storage: storage)
        let api = transport(credentials(tokens, vault))
        return SignedInAccount(user: user, storage: storage, api: api, configuration: configuration)
    }

    /// Signs in, opening (or creating) the account's files, and records it as the profile's
    /// current account.
    static func signIn(
        email: String, password: String, configuration: ClientConfiguration, transport: SyncTransportFactory
    ) async throws -> SignedInAccount {
        let vault = TokenVault()
        let api = transport(credentials(nil, vault))
        let user = try await api.login(email: email, password: password)
        let storage = try AccountStorage(
            profile: configuration.profile, account: user.id.rawValue, keys: configuration.keys,
            cacheIntegrityCheck: configuration.cacheIntegrityCheck)
        try await vault.attach(storage)
        try await storage.cache.setAccount(user)
        try storage.writeSecret(userFile, try JSONEncoder().encode(user))
        try AccountStorage.setCurrentAccount(user.id.rawValue, profile: configuration.profile)
        return SignedInAccount(user: user, storage: storage, api: api, configuration: configuration)
    }

    /// Forgets the tokens, removes the account's files (all of them with `discardingOutbox` or
    /// when the outbox is empty, the cache only otherwise; none with `keepCache`), its data key
    /// first, and then revokes the tokens (when the server answers) with the copy in memory:
    /// an unreachable server never keeps the data readable while the revocation waits.
    static func signOut(_ account: SignedInAccount, keepCache: Bool, discardingOutbox: Bool) async throws {
        account.storage.removeSecret(TokenVault.file)
        if discardingOutbox { try await account.outbox.removeAll() }
        if !keepCache {
            let outbox = try await account.outbox.summary()
            if outbox.pending + outbox.failed == 0 {
                try account.storage.wipe()
            } else {
                try account.storage.wipeCache()
            }
        }
        // A refresh during the revocation writes nothing: the storage refuses secrets once wiped.
        try? await account.api.logout()
    }

    /// The tokens were refused and could not be refreshed: they are removed, the files stay.
    static func tokensRefused(_ account: SignedInAccount) {
        account.storage.removeSecret(TokenVault.file)
    }

    /// The signed-in user is kept beside the tokens (sealed) as well as in the cache, so a cache
    /// that was found corrupt and rebuilt empty does not sign the account out.
    static let userFile = "user"

    private static func signedInUser(_ storage: AccountStorage) async throws -> User? {
        if let user = try await storage.cache.account() { return user }
        guard let data = storage.readSecret(userFile), let user = try? JSONDecoder().decode(User.self, from: data)
        else { return nil }
        if !storage.isReadOnly { try await storage.cache.setAccount(user) }
        return user
    }

    /// Forgets which account is signed in on the profile.
    static func forget(profile: String) throws { try AccountStorage.setCurrentAccount(nil, profile: profile) }

    private static func credentials(_ tokens: APITokens?, _ vault: TokenVault) -> TransportCredentials {
        TransportCredentials(
            tokens: tokens, save: { try await vault.save($0) },
            coordinateRefresh: { stale, refresh in try await vault.coordinateRefresh(replacing: stale, refresh) })
    }
}
