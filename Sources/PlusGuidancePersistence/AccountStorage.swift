import Foundation
import GRDB
@_spi(PlusGuidanceTools) import PlusGuidanceDomain

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Everything stored on this machine for one signed-in account, in one private folder of the
/// profile:
///
/// ```
/// <profile>/accounts/<account>/        0700
///     cache.sqlite (+ -wal, -shm)       0600   server data, rebuilt from the server when corrupt
///     outbox.sqlite (+ -wal, -shm)      0600   the user's unconfirmed actions, never rebuilt
///     engine.lock                       0600   held by the one process running the sync engine
///     engine.state                      0600   what that process's engine is doing (phase, pid), for `pg status`
///     tokens, user, tokens.lock         0600   the bearer tokens and the user (sealed); held while one process refreshes them
///     cache.key, outbox.key             0600   the data keys, wrapped by the profile's key-encryption key
///     activity                          0600   its time is the user's last activity (idle sign-out)
///     cache.sqlite.corrupt-<time>       0600   a corrupt cache moved aside, kept for diagnosis
/// ```
///
/// Nothing readable is on disk: message bodies, outbox actions and tokens are sealed
/// (AES-256-GCM, ``FieldCipher``) under the account's data keys, which are wrapped by the
/// key-encryption key of a ``KeyProvider`` kept outside the profile. The cache and the tokens
/// share one data key, the outbox has its own: signing out destroys the cache's key first
/// (crypto-shred) and keeps the outbox's while the outbox holds anything. A profile from before
/// encryption is encrypted when first opened, each file rewritten into a new one.
///
/// The cache and the outbox are separate files on purpose: a cache that fails its integrity
/// check is moved aside and replaced by an empty one (the next sync refills it from the server,
/// the cursor being gone with it), while the outbox, the only copy of what the user did offline,
/// is never touched automatically; a corrupt outbox is refused with
/// ``PersistenceError/corruptOutbox(path:detail:)`` and left in place.
///
/// The outbox is small and always checked (`PRAGMA quick_check`) before use. The cache can be
/// hundreds of megabytes, and `quick_check` reads every page (about 0.35 ms per thousand
/// messages here), so by default it runs in the background right after opening: the first query
/// does not wait, and a failed check marks the cache to be rebuilt at the next open (see
/// ``cacheIntegrityProblem()``). A file that is not a database at all is caught at once.
public final class AccountStorage: Sendable {
    /// What the process does with the account's files.
    public enum Access: Sendable {
        /// Reads and writes: the stores open their pools, migrate and check as needed.
        case readWrite
        /// Only reads (a command that shows something, a widget): when the files need no work
        /// (no migration, no recovery, no rebuild), each is opened as one read-only SQLite
        /// connection, without a writer, a pool, the integrity checks (the outbox's, and the
        /// cache's whatever ``IntegrityCheck`` says: the processes that write run them) or the
        /// change marker; otherwise they are opened as for ``readWrite``. A write to either
        /// database then fails with `storage_failed` ("read-only").
        case readOnly
    }

    /// When the cache's `PRAGMA quick_check` runs.
    public enum IntegrityCheck: Sendable {
        /// Before the initializer returns; a damaged cache is rebuilt at once.
        case onOpen
        /// In a background task started by the initializer; a damaged cache is rebuilt at the
        /// next open.
        case inBackground
        /// Not by this process: for one that lives for a moment (a `pg` command), whose check
        /// of a large cache (every page read: about 0.4 s at a million messages) would only
        /// compete with the command for the CPU and be cut off by its exit. A long-lived process
        /// on the profile (`pg-syncd`, an app, `pg sync`) checks. SQLite still reports a damaged
        /// page that a read touches.
        case skipped
    }

    /// The account's folder.
    public let folder: String
    public let cache: SQLiteCacheStore
    public let outbox: SQLiteOutboxStore
    /// Where a corrupt cache was moved when this storage was opened; `nil` when the cache was sound.
    public let movedAsideCache: String?
    /// Whether the files were opened read-only (``Access/readOnly``, when they needed no work).
    public let isReadOnly: Bool
    private let cacheCheck: Task<String?, Never>?

    public var cachePath: String { folder + "/cache.sqlite" }
    public var outboxPath: String { folder + "/outbox.sqlite" }
    public var engineLockPath: String { folder + "/engine.lock" }
    private let secrets: FieldCipher
    /// Set by ``wipeCache()`` and ``wipe()``: no secret is written afterwards.
    private let wiped = WipedFlag()
    private var cacheKey: WrappedKeyFile { WrappedKeyFile(path: folder + "/cache.key", purpose: "cache") }
    var rebuildMarkerPath: String { folder + "/cache.sqlite.needs-rebuild" }

    /// Opens the storage of `account` under `profile`, creating it when missing.
    ///
    /// - Parameters:
    ///   - profile: the profile folder (created 0700 when missing).
    ///   - account: a stable name for the account, such as its user id; characters other than
    ///     letters, digits, `.`, `-` and `_` are replaced so it is always one safe path component.
    ///   - keys: where the key-encryption key comes from (``KeySource/provider(keyFile:keyFileOrigin:environment:)``
    ///     by default).
    ///   - now: the time a damaged cache moved aside is stamped with.
    ///   - cacheIntegrityCheck: when the cache's quick check runs; see ``IntegrityCheck``.
    ///   - access: read-write, or read-only for a process that only reads (one SQLite
    ///     connection a file, nothing written).
    /// - Throws: ``PersistenceError`` (`key_unavailable`, `newer_schema`, `corrupt_outbox`,
    ///   permissions), or a GRDB error when SQLite itself fails. A missing or wrong key changes
    ///   nothing on disk.
    public init(
        profile: String, account: String, keys: any KeyProvider = KeySource.provider(), now: Date = Date(),
        cacheIntegrityCheck: IntegrityCheck = .inBackground, access: Access = .readWrite
    ) throws {
        let folder = Self.folder(profile: profile, account: account)
        if access == .readOnly, let reading = try Self.openForReading(folder: folder, profile: profile, keys: keys) {
            self.folder = folder
            (secrets, outbox, cache) = reading
            movedAsideCache = nil
            cacheCheck = nil
            isReadOnly = true
            return
        }
        isReadOnly = false
        try SecureFiles.makeFolder(profile)
        try SecureFiles.makeFolder(profile + "/accounts")
        Self.finishRemovals(profile: profile)
        try SecureFiles.makeFolder(folder)
        self.folder = folder

        let dataKeys = try AccountDataKeys.open(folder: folder, profile: profile, provider: keys)
        secrets = dataKeys.cache
        let outboxPath = folder + "/outbox.sqlite"
        let outbox: SQLiteOutboxStore
        do {
            outbox = try SQLiteOutboxStore(path: outboxPath, cipher: dataKeys.outbox)
        } catch  where DatabaseOpener.isCorruption(error) {
            throw PersistenceError.corruptOutbox(path: outboxPath, detail: "not a readable SQLite database")
        }
        if let problem = DatabaseOpener.quickCheck(outbox.database) {
            throw PersistenceError.corruptOutbox(path: outboxPath, detail: problem)
        }
        self.outbox = outbox

        let cachePath = folder + "/cache.sqlite"
        let marker = folder + "/cache.sqlite.needs-rebuild"
        var cache: SQLiteCacheStore?
        if !FileManager.default.fileExists(atPath: marker) {
            do {
                let opened = try SQLiteCacheStore(path: cachePath, cipher: dataKeys.cache)
                if cacheIntegrityCheck != .onOpen || DatabaseOpener.quickCheck(opened.database) == nil {
                    cache = opened
                } else {
                    try? opened.database.close()
                }
            } catch  where DatabaseOpener.isCorruption(error) {}
        }
        if let cache {
            self.cache = cache
            movedAsideCache = nil
        } else if dataKeys.createdForExistingFiles {
            // A corrupt cache from before encryption holds plaintext: it is not kept.
            for suffix in ["", "-wal", "-shm"] { SecureFiles.shred(cachePath + suffix) }
            movedAsideCache = nil
            try? FileManager.default.removeItem(atPath: marker)
            self.cache = try SQLiteCacheStore(path: cachePath, cipher: dataKeys.cache)
        } else {
            movedAsideCache = try Self.moveAside(cachePath, now: now)
            try? FileManager.default.removeItem(atPath: marker)
            self.cache = try SQLiteCacheStore(path: cachePath, cipher: dataKeys.cache)
        }
        try Self.sealLegacyTokens(in: folder, with: dataKeys.cache)

        if cacheIntegrityCheck == .inBackground {
            let database = self.cache.database
            cacheCheck = Task.detached(priority: .background) {
                guard let problem = DatabaseOpener.quickCheck(database) else { return nil }
                _ = FileManager.default.createFile(
                    atPath: marker, contents: nil, attributes: [.posixPermissions: 0o600])
                return problem
            }
        } else {
            cacheCheck = nil
        }
    }

    /// The read-only path of ``Access/readOnly``; `nil` when a file needs the full open.
    private static func openForReading(
        folder: String, profile: String, keys: any KeyProvider
    ) throws -> (FieldCipher, SQLiteOutboxStore, SQLiteCacheStore)? {
        let exists = { FileManager.default.fileExists(atPath: folder + "/" + $0) }
        guard exists("cache.key"), exists("outbox.key"), !exists("cache.sqlite.needs-rebuild"), !exists("tokens.json")
        else { return nil }
        let dataKeys = try AccountDataKeys.open(folder: folder, profile: profile, provider: keys)
        guard
            let outbox = try SQLiteOutboxStore.openForReading(path: folder + "/outbox.sqlite", cipher: dataKeys.outbox),
            let cache = try SQLiteCacheStore.openForReading(path: folder + "/cache.sqlite", cipher: dataKeys.cache)
        else { return nil }
        return (dataKeys.cache, outbox, cache)
    }

    /// Waits for the cache's integrity check and returns what SQLite reported, or `nil` when the
    /// cache is sound (or was checked, and rebuilt if needed, on open). A damaged cache keeps
    /// answering what it can until the storage is opened again, which rebuilds it.
    public func cacheIntegrityProblem() async -> String? {
        await cacheCheck?.value
    }

    /// Checks the cache now (`PRAGMA quick_check`, every page read), whatever
    /// ``IntegrityCheck`` it was opened with: for a process that finds less than it expects (a
    /// contact missing) and must tell a damaged cache from a true answer.
    public func checkCacheNow() -> String? {
        DatabaseOpener.quickCheck(cache.database)
    }

    /// The account signed in on this profile, as recorded by ``setCurrentAccount(_:profile:)``.
    public static func currentAccount(profile: String) -> String? {
        FileManager.default.contents(atPath: profile + "/current-account").map { String(decoding: $0, as: UTF8.self) }
            .flatMap { $0.isEmpty ? nil : $0 }
    }

    /// Records (or, with `nil`, forgets) the account signed in on this profile; 0600, atomic.
    public static func setCurrentAccount(_ account: String?, profile: String) throws {
        try SecureFiles.makeFolder(profile)
        if let account {
            try SecureFiles.writeAtomically(Data(account.utf8), to: profile + "/current-account")
        } else {
            try? FileManager.default.removeItem(atPath: profile + "/current-account")
        }
    }

    /// Rotates the profile's key-encryption key: every account's data keys get a wrap under
    /// `new` (32 bytes) beside the old one, then `install` runs (it puts the new key where the
    /// provider will find it), then the old wraps go. No data file is rewritten, and until the
    /// end both keys open the profile, so a crash at any step loses nothing. Returns how many
    /// data keys were re-wrapped.
    /// - Throws: ``PersistenceError/keyUnavailable(key:reason:)`` when `old` does not open them.
    public static func rotateKeyEncryptionKey(
        profile: String, from old: any KeyProvider, to new: [UInt8], installing install: () throws -> Void = {}
    ) throws -> Int {
        guard new.count == 32 else {
            throw PersistenceError.keyUnavailable(key: "the new key", reason: "it is not 32 bytes")
        }
        return try AccountDataKeys.rewrap(profile: profile, from: old, to: new, beforeDroppingOld: install)
    }

    /// The folder of `account` under `profile`.
    public static func folder(profile: String, account: String) -> String {
        let safe = account.unicodeScalars.map { scalar -> String in
            let allowed =
                CharacterSet.alphanumerics.contains(scalar) && scalar.isASCII || "._-".unicodeScalars.contains(scalar)
            return allowed ? String(scalar) : "_"
        }.joined()
        // Never empty, never starting with "." (dot names are the storage's own: `.removing-…`).
        let name = safe.isEmpty || safe.hasPrefix(".") ? "_" + safe : safe
        return profile + "/accounts/" + name
    }

    private static func moveAside(_ path: String, now: Date) throws -> String {
        let stamp = Int(now.timeIntervalSince1970)
        let destination = "\(path).corrupt-\(stamp)"
        for suffix in ["", "-wal", "-shm"] where FileManager.default.fileExists(atPath: path + suffix) {
            try? FileManager.default.removeItem(atPath: destination + suffix)
            try FileManager.default.moveItem(atPath: path + suffix, toPath: destination + suffix)
        }
        return destination
    }

    /// Writes a small secret file of the account (tokens), sealed with the account's data key,
    /// 0600, atomically: readers see the old or the new content, never a mix, and it is on disk
    /// when this returns.
    /// - Throws: ``PersistenceError/closed`` once the cache was wiped (signed out).
    public func writeSecret(_ name: String, _ data: Data) throws {
        guard !wiped.isSet else { throw PersistenceError.closed }
        try SecureFiles.writeAtomically(try secrets.seal(data, table: "secret", row: name), to: folder + "/" + name)
    }

    /// Reads a secret file written by ``writeSecret(_:_:)``; `nil` when there is none or it does
    /// not open with the account's data key.
    public func readSecret(_ name: String) -> Data? {
        FileManager.default.contents(atPath: folder + "/" + name).flatMap {
            try? secrets.open($0, table: "secret", row: name)
        }
    }

    /// The files ``writeSecret(_:_:)`` may write (sealed with the cache's data key): removed with
    /// the cache.
    static let secretFiles = ["tokens", "user"]

    /// Tokens from before encryption (`tokens.json`, in clear) are sealed into `tokens`, and the
    /// clear file is shredded.
    private static func sealLegacyTokens(in folder: String, with cipher: FieldCipher) throws {
        let legacy = folder + "/tokens.json"
        guard let clear = FileManager.default.contents(atPath: legacy) else { return }
        if !FileManager.default.fileExists(atPath: folder + "/tokens") {
            try SecureFiles.writeAtomically(
                try cipher.seal(clear, table: "secret", row: "tokens"), to: folder + "/tokens")
        }
        SecureFiles.shred(legacy)
    }

    /// Records user activity now (a command, an app's read or write): ``lastActivity()`` is what
    /// idle sign-out measures from. Shared by every process of the profile (a file's time).
    public func recordActivity() {
        let path = folder + "/activity"
        if utimes(path, nil) != 0 { _ = try? SecureFiles.makeFile(path) }
    }

    /// When the user was last active on this account, from any process; `nil` when never.
    public func lastActivity() -> Date? {
        var info = stat()
        guard stat(folder + "/activity", &info) == 0 else { return nil }
        return Date(timeIntervalSince1970: Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) / 1e9)
    }

    /// Removes a secret file; nothing happens when there is none.
    public func removeSecret(_ name: String) {
        try? FileManager.default.removeItem(atPath: folder + "/" + name)
    }

    /// Takes the account's engine lock; see ``EngineLock``.
    public func acquireEngineLock() throws -> EngineLock { try EngineLock(path: engineLockPath) }

    /// Takes the account's token lock, waiting for another process that holds it: one token
    /// refresh at a time per account, across every process on the profile.
    public func acquireTokenLock() async throws -> EngineLock {
        try await EngineLock.waiting(path: folder + "/tokens.lock")
    }

    /// Closes the cache and removes its files (sign-out that keeps the outbox). The cache store
    /// fails every call afterwards; the next `init(profile:account:now:cacheIntegrityCheck:)`
    /// starts an empty cache, refilled by the next sync.
    public func wipeCache() throws {
        wiped.set()
        cacheCheck?.cancel()
        // The data key first: once it is gone, whatever copies of the cache and the tokens
        // remain (freed blocks, a backup) are ciphertext nothing on the machine opens.
        cacheKey.destroy()
        for secret in Self.secretFiles { SecureFiles.shred(folder + "/" + secret) }
        try? cache.database.close()
        for suffix in ["", "-wal", "-shm", ".needs-rebuild", "-open.lock"]
        where FileManager.default.fileExists(
            atPath: cachePath + suffix)
        {
            try FileManager.default.removeItem(atPath: cachePath + suffix)
        }
    }

    /// Closes the databases and removes every file of the account (sign-out), its data keys
    /// destroyed first. The stores fail every call afterwards.
    public func wipe() throws {
        wiped.set()
        cacheCheck?.cancel()
        // The folder leaves the account's place first (one rename), so a crash midway never
        // leaves an account whose files are there and whose keys are not.
        let removing =
            (folder as NSString).deletingLastPathComponent + "/.removing-"
            + (folder as NSString).lastPathComponent + "-\(getpid())"
        guard rename(folder, removing) == 0 else {
            if errno == ENOENT { return }
            throw PersistenceError.fileAccess(path: folder, errno: errno)
        }
        SecureFiles.syncFolder(of: folder)
        Self.destroy(removing)
        // close() refuses while an observation still holds a statement; the files are removed
        // either way, and on Linux open descriptors to unlinked files are harmless.
        try? cache.database.close()
        try? outbox.database.close()
    }

    /// Destroys the data keys of an account folder, then removes it.
    private static func destroy(_ folder: String) {
        for name in AccountDataKeys.fileNames + secretFiles { SecureFiles.shred(folder + "/" + name) }
        try? FileManager.default.removeItem(atPath: folder)
    }

    /// Finishes the removals a crash interrupted (``wipe()``).
    private static func finishRemovals(profile: String) {
        let accounts = profile + "/accounts"
        for name in (try? FileManager.default.contentsOfDirectory(atPath: accounts)) ?? []
        where name.hasPrefix(".removing-") {
            destroy(accounts + "/" + name)
        }
    }
}

/// Whether an ``AccountStorage`` was wiped, from any thread.
private final class WipedFlag: Sendable {
    private let lock = NSLock()
    private nonisolated(unsafe) var value = false
    func set() { lock.withLock { value = true } }
    var isSet: Bool { lock.withLock { value } }
}
