import Foundation
import GRDB
import PlusGuidanceDomain

/// Everything stored on this machine for one signed-in account, in one private folder of the
/// profile:
///
/// ```
/// <profile>/accounts/<account>/        0700
///     cache.sqlite (+ -wal, -shm)       0600   server data, rebuilt from the server when corrupt
///     outbox.sqlite (+ -wal, -shm)      0600   the user's unconfirmed actions, never rebuilt
///     engine.lock                       0600   held by the one process running the sync engine
///     tokens.json, tokens.lock          0600   the bearer tokens; held while one process refreshes them
///     cache.sqlite.corrupt-<time>       0600   a corrupt cache moved aside, kept for diagnosis
/// ```
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
    /// When the cache's `PRAGMA quick_check` runs.
    public enum IntegrityCheck: Sendable {
        /// Before the initializer returns; a damaged cache is rebuilt at once.
        case onOpen
        /// In a background task started by the initializer; a damaged cache is rebuilt at the
        /// next open.
        case inBackground
    }

    /// The account's folder.
    public let folder: String
    public let cache: SQLiteCacheStore
    public let outbox: SQLiteOutboxStore
    /// Where a corrupt cache was moved when this storage was opened; `nil` when the cache was sound.
    public let movedAsideCache: String?
    private let cacheCheck: Task<String?, Never>?

    public var cachePath: String { folder + "/cache.sqlite" }
    public var outboxPath: String { folder + "/outbox.sqlite" }
    public var engineLockPath: String { folder + "/engine.lock" }
    var rebuildMarkerPath: String { folder + "/cache.sqlite.needs-rebuild" }

    /// Opens the storage of `account` under `profile`, creating it when missing.
    ///
    /// - Parameters:
    ///   - profile: the profile folder (created 0700 when missing).
    ///   - account: a stable name for the account, such as its user id; characters other than
    ///     letters, digits, `.`, `-` and `_` are replaced so it is always one safe path component.
    /// - Throws: ``PersistenceError`` (`newer_schema`, `corrupt_outbox`, permissions), or a GRDB
    ///   error when SQLite itself fails.
    ///   - cacheIntegrityCheck: when the cache's quick check runs; see ``IntegrityCheck``.
    public init(
        profile: String, account: String, now: Date = Date(), cacheIntegrityCheck: IntegrityCheck = .inBackground
    ) throws {
        let folder = Self.folder(profile: profile, account: account)
        try SecureFiles.makeFolder(profile)
        try SecureFiles.makeFolder(profile + "/accounts")
        try SecureFiles.makeFolder(folder)
        self.folder = folder

        let outboxPath = folder + "/outbox.sqlite"
        let outbox: SQLiteOutboxStore
        do {
            outbox = try SQLiteOutboxStore(path: outboxPath)
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
                let opened = try SQLiteCacheStore(path: cachePath)
                if cacheIntegrityCheck == .inBackground || DatabaseOpener.quickCheck(opened.database) == nil {
                    cache = opened
                } else {
                    try? opened.database.close()
                }
            } catch  where DatabaseOpener.isCorruption(error) {}
        }
        if let cache {
            self.cache = cache
            movedAsideCache = nil
        } else {
            movedAsideCache = try Self.moveAside(cachePath, now: now)
            try? FileManager.default.removeItem(atPath: marker)
            self.cache = try SQLiteCacheStore(path: cachePath)
        }

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

    /// Waits for the cache's integrity check and returns what SQLite reported, or `nil` when the
    /// cache is sound (or was checked, and rebuilt if needed, on open). A damaged cache keeps
    /// answering what it can until the storage is opened again, which rebuilds it.
    public func cacheIntegrityProblem() async -> String? {
        await cacheCheck?.value
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

    /// The folder of `account` under `profile`.
    public static func folder(profile: String, account: String) -> String {
        let safe = account.unicodeScalars.map { scalar -> String in
            let allowed =
                CharacterSet.alphanumerics.contains(scalar) && scalar.isASCII || "._-".unicodeScalars.contains(scalar)
            return allowed ? String(scalar) : "_"
        }.joined()
        let name = safe.isEmpty || safe.allSatisfy({ $0 == "." }) ? "_" + safe : safe
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

    /// Writes a small secret file of the account (tokens), 0600, atomically: readers see the
    /// old or the new content, never a mix, and it is on disk when this returns.
    public func writeSecret(_ name: String, _ data: Data) throws {
        try SecureFiles.writeAtomically(data, to: folder + "/" + name)
    }

    /// Reads a secret file written by ``writeSecret(_:_:)``; `nil` when there is none.
    public func readSecret(_ name: String) -> Data? {
        FileManager.default.contents(atPath: folder + "/" + name)
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
    /// fails every call afterwards; the next ``init(profile:account:now:cacheIntegrityCheck:)``
    /// starts an empty cache, refilled by the next sync.
    public func wipeCache() throws {
        cacheCheck?.cancel()
        try? cache.database.close()
        for suffix in ["", "-wal", "-shm", ".needs-rebuild"]
        where FileManager.default.fileExists(
            atPath: cachePath + suffix)
        {
            try FileManager.default.removeItem(atPath: cachePath + suffix)
        }
    }

    /// Closes the databases and removes every file of the account (sign-out). The stores fail
    /// every call afterwards.
    public func wipe() throws {
        cacheCheck?.cancel()
        // close() refuses while an observation still holds a statement; the files are removed
        // either way, and on Linux open descriptors to unlinked files are harmless.
        try? cache.database.close()
        try? outbox.database.close()
        if FileManager.default.fileExists(atPath: folder) {
            try FileManager.default.removeItem(atPath: folder)
        }
    }
}
