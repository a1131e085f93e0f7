import Foundation

/// The two data keys of an account folder, unwrapped: the cache's (which also seals the
/// tokens) and the outbox's, each in its own ``WrappedKeyFile`` so that signing out can destroy
/// the first and keep the second while the outbox still holds what the user did.
struct AccountDataKeys {
    let cache: FieldCipher
    let outbox: FieldCipher
    /// The keys were made now for files written before encryption (a profile being migrated).
    let createdForExistingFiles: Bool

    static let fileNames = ["cache.key", "outbox.key"]

    static func open(folder: String, profile: String, provider: any KeyProvider) throws -> AccountDataKeys {
        let cacheFile = WrappedKeyFile(path: folder + "/cache.key", purpose: "cache")
        let outboxFile = WrappedKeyFile(path: folder + "/outbox.key", purpose: "outbox")
        let exists = { (name: String) in FileManager.default.fileExists(atPath: folder + "/" + name) }
        // A new key-encryption key may be made only while nothing of the profile is sealed; an
        // account with its own data keys settles that without listing the profile's others.
        let sealed = cacheFile.exists || outboxFile.exists || profileHasDataKeys(profile)
        let kek = KeyMaterial(try provider.keyEncryptionKey(creatingIfMissing: !sealed))
        let legacy =
            !cacheFile.exists && !outboxFile.exists
            && ["cache.sqlite", "outbox.sqlite", "tokens.json"].contains(where: exists)
        if !outboxFile.exists && exists("outbox.sqlite") && !legacy {
            // Never guess: the outbox is the only copy of what the user did.
            throw PersistenceError.keyUnavailable(
                key: outboxFile.path, reason: "the outbox's data key is gone; the outbox is left as it is")
        }
        if !cacheFile.exists && !legacy {
            // The cache's key was destroyed (a sign-out interrupted before its files went):
            // what is left of the cache and the tokens can never be opened, so it goes.
            for suffix in ["", "-wal", "-shm", ".needs-rebuild"] {
                SecureFiles.shred(folder + "/cache.sqlite" + suffix)
            }
            for secret in AccountStorage.secretFiles { SecureFiles.shred(folder + "/" + secret) }
        }
        let outbox = try outboxFile.load(with: kek, provider: provider, create: true)
        let cache = try cacheFile.load(with: kek, provider: provider, create: true)
        return AccountDataKeys(
            cache: FieldCipher(key: cache), outbox: FieldCipher(key: outbox), createdForExistingFiles: legacy)
    }

    /// Whether any account of the profile has a data key.
    static func profileHasDataKeys(_ profile: String) -> Bool {
        let accounts = profile + "/accounts"
        return ((try? FileManager.default.contentsOfDirectory(atPath: accounts)) ?? []).contains { account in
            fileNames.contains { FileManager.default.fileExists(atPath: accounts + "/" + account + "/" + $0) }
        }
    }

    /// Re-wraps every data key of the profile under `new` (rotation of the key-encryption key):
    /// first every file gets the new wrap beside the old, then the old wraps go. No data file is
    /// rewritten, and a crash at any point leaves files that both keys open.
    static func rewrap(
        profile: String, from old: any KeyProvider, to new: [UInt8], beforeDroppingOld install: () throws -> Void
    ) throws -> Int {
        let oldKey = KeyMaterial(try old.keyEncryptionKey(creatingIfMissing: false))
        let newKey = KeyMaterial(new)
        let accounts = profile + "/accounts"
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: accounts)) ?? []).sorted().flatMap {
            account in
            zip(fileNames, ["cache", "outbox"]).map {
                WrappedKeyFile(path: accounts + "/" + account + "/" + $0.0, purpose: $0.1)
            }.filter(\.exists)
        }
        for file in files { try file.addWrap(from: oldKey, to: newKey, provider: old) }
        try install()
        for file in files { try file.keepOnlyWrap(of: newKey) }
        return files.count
    }
}
