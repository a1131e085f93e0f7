import Crypto
import Foundation
import GRDB
@_spi(PlusGuidanceTools) import PlusGuidanceDomain
@_spi(PlusGuidanceTools) import PlusGuidancePersistence
import PlusGuidanceTesting
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The sealed fields, the data keys and their key-encryption key, on real SQLite files.
@Suite struct EncryptionAtRestTests {
    static let canary = "CANARY-at-rest-body"

    func keys(_ folder: TemporaryFolder, _ name: String = "key") -> FileKeyProvider {
        FileKeyProvider(path: folder.path + "/keys/" + name)
    }

    func contains(_ path: String, _ needle: String) -> Bool {
        FileManager.default.contents(atPath: path)?.range(of: Data(needle.utf8)) != nil
    }

    @Test func bodiesActionsAndTokensAreSealedInEveryFileIncludingTheWAL() async throws {
        let folder = try TemporaryFolder()
        let storage = try AccountStorage(profile: folder.path + "/p", account: "a", keys: keys(folder))
        try await storage.cache.apply(
            ChangePage(changes: [.message(Fixtures.message("m1", body: Self.canary))], cursor: FeedCursor("c")))
        var queued = try await storage.outbox.enqueue(
            Fixtures.sendEntry("k1", body: Self.canary + "-queued"))
        // A server's reason for a failure is free text: sealed too (R10).
        queued.state = .failed
        queued.lastError = OutboxFailure(code: "refused", reason: Self.canary + "-reason")
        try await storage.outbox.update(queued, durably: true)
        #expect(try await storage.outbox.entries().first?.lastError?.reason == Self.canary + "-reason")
        try storage.writeSecret("tokens", Data("pgr_secret-token".utf8))
        // Read back through the stores: the seal round-trips.
        #expect(try await storage.cache.message("m1")?.body == Self.canary)
        #expect(try await storage.outbox.entries().first?.outgoingMessage?.body == Self.canary + "-queued")
        #expect(storage.readSecret("tokens") == Data("pgr_secret-token".utf8))
        // The WAL files are hot (the pools are open): nothing in clear in any of them.
        let files = try FileManager.default.contentsOfDirectory(atPath: storage.folder)
        #expect(files.contains("cache.sqlite-wal"))
        for file in files {
            #expect(!contains(storage.folder + "/" + file, "CANARY"), "\(file)")
            #expect(!contains(storage.folder + "/" + file, "pgr_"), "\(file)")
        }
        // The ids, times and states the indexes use stay in clear.
        #expect(contains(storage.folder + "/cache.sqlite-wal", "m1"))
    }

    @Test func theSealedFormatIsStandardAESGCMThatSwiftCryptoOpensBothWays() throws {
        let cipher = FieldCipher.ephemeral()
        let key = SymmetricKey(data: try #require(cipher.keyBytesForTesting))
        let associated = Data("message\u{0}msg_1".utf8)
        // Sealed here (libcrypto), opened by swift-crypto with the same associated data.
        let sealed = try cipher.sealString(Self.canary, table: "message", row: "msg_1")
        #expect(sealed.first == 1)
        let box = try AES.GCM.SealedBox(combined: sealed.dropFirst())
        #expect(try AES.GCM.open(box, using: key, authenticating: associated) == Data(Self.canary.utf8))
        // Sealed by swift-crypto, opened here; with another row's associated data it fails.
        let theirs = try AES.GCM.seal(Data("from swift-crypto".utf8), using: key, authenticating: associated)
        let framed = Data([1]) + theirs.combined!
        #expect(try cipher.openString(framed, table: "message", row: "msg_1") == "from swift-crypto")
        #expect(throws: PlusGuidancePersistence.PersistenceError.self) {
            try cipher.openString(framed, table: "message", row: "msg_2")
        }
        // Every seal has a nonce of its own.
        let many = try (0..<2_000).map { try cipher.sealString("body \($0)", table: "message", row: "msg_\($0)") }
        #expect(Set(many.map { $0.dropFirst().prefix(12) }).count == 2_000)
        for (index, value) in many.enumerated() {
            #expect(try cipher.openString(value, table: "message", row: "msg_\(index)") == "body \(index)")
        }
    }

    @Test func aLargeBatchSealedAheadOfTheWriterKeepsEveryBodyWithItsRow() async throws {
        let folder = try TemporaryFolder()
        let store = try SQLiteCacheStore(path: folder.path + "/cache.sqlite", cipher: .ephemeral())
        // Three pages, more than two chunks of 256 bodies, other changes between the messages,
        // and one message twice (the later copy wins).
        let pages = (0..<3).map { page in
            ChangePage(
                changes: (0..<400).flatMap { index -> [Change] in
                    let number = page * 400 + index
                    let message = Change.message(
                        Fixtures.message("m\(number)", at: Double(number), body: "body \(number)"))
                    return index % 50 == 0 ? [.session(Fixtures.session("s\(number)")), message] : [message]
                } + (page == 2 ? [.message(Fixtures.message("m7", at: 7, body: "edited"))] : []),
                cursor: FeedCursor("c\(page)"))
        }
        try await store.apply(pages)
        for number in [0, 1, 255, 256, 511, 799, 1_000, 1_199] {
            #expect(try await store.message(MessageID("m\(number)"))?.body == "body \(number)")
        }
        #expect(try await store.message("m7")?.body == "edited")
        #expect(try await store.syncState().cursor == FeedCursor("c2"))
    }

    @Test func aSealedValueMovedToAnotherRowDoesNotOpen() async throws {
        let folder = try TemporaryFolder()
        let storage = try AccountStorage(profile: folder.path + "/p", account: "a", keys: keys(folder))
        try await storage.cache.apply(
            ChangePage(
                changes: [
                    .message(Fixtures.message("m1", body: "first")),
                    .message(Fixtures.message("m2", at: 1, body: "two")),
                ], cursor: FeedCursor("c")))
        // Swap the two sealed bodies: each is bound to its row's id.
        try await storage.cache.database.write { db in
            let first = try Data.fetchOne(db, sql: "SELECT body FROM message WHERE id = 'm1'")
            let second = try Data.fetchOne(db, sql: "SELECT body FROM message WHERE id = 'm2'")
            try db.execute(sql: "UPDATE message SET body = ? WHERE id = 'm1'", arguments: [second])
            try db.execute(sql: "UPDATE message SET body = ? WHERE id = 'm2'", arguments: [first])
        }
        await #expect(throws: PlusGuidancePersistence.PersistenceError.self) { try await storage.cache.message("m1") }
        do {
            _ = try await storage.cache.message("m2")
            Issue.record("a swapped body opened")
        } catch let error as PlusGuidancePersistence.PersistenceError {
            #expect(error.code == "undecodable_row")
            #expect(!error.description.contains("two"))
        }
    }

    @Test func signingOutDestroysTheDataKeySoCopiesOfTheCacheCannotBeRead() async throws {
        let folder = try TemporaryFolder()
        let keys = keys(folder)
        let storage = try AccountStorage(profile: folder.path + "/p", account: "a", keys: keys)
        try await storage.cache.apply(
            ChangePage(changes: [.message(Fixtures.message("m1", body: Self.canary))], cursor: FeedCursor("c")))
        _ = try await storage.outbox.enqueue(Fixtures.sendEntry("k1"))
        try storage.writeSecret("tokens", Data("pgr_secret".utf8))
        // What could survive a sign-out on disk: a copy of the cache and of the tokens.
        _ = try await storage.cache.database.writeWithoutTransaction { try $0.checkpoint(.truncate) }
        let copies = folder.path + "/copies"
        try FileManager.default.createDirectory(atPath: copies, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: storage.cachePath, toPath: copies + "/cache.sqlite")
        try FileManager.default.copyItem(atPath: storage.folder + "/tokens", toPath: copies + "/tokens")

        try storage.wipeCache()  // sign-out that keeps the outbox
        let left = try FileManager.default.contentsOfDirectory(atPath: storage.folder)
        #expect(!left.contains("cache.key"))
        #expect(left.contains("outbox.key"))
        #expect(!left.contains("tokens"))

        // Put the copies back: the next open cannot read them with anything on the machine,
        // so they are dropped, and the kept outbox still opens.
        try FileManager.default.copyItem(atPath: copies + "/cache.sqlite", toPath: storage.cachePath)
        try FileManager.default.copyItem(atPath: copies + "/tokens", toPath: storage.folder + "/tokens")
        let reopened = try AccountStorage(profile: folder.path + "/p", account: "a", keys: keys)
        #expect(try await reopened.cache.message("m1") == nil)
        #expect(reopened.readSecret("tokens") == nil)
        #expect(try await reopened.outbox.entries().map(\.id) == ["k1"])
        // Nor does the surviving outbox key open the copy.
        let outboxKeyed = try AccountStorage(profile: folder.path + "/q", account: "a", keys: keys)
        let copy = try SQLiteCacheStore(path: copies + "/cache.sqlite", cipher: .ephemeral())
        await #expect(throws: PlusGuidancePersistence.PersistenceError.self) { try await copy.message("m1") }
        _ = outboxKeyed
    }

    @Test func rotatingTheKeyRewrapsTheDataKeysAndRewritesNoData() async throws {
        let folder = try TemporaryFolder()
        let old = keys(folder, "old")
        let new = keys(folder, "new")
        do {
            let storage = try AccountStorage(profile: folder.path + "/p", account: "a", keys: old)
            try await storage.cache.apply(
                ChangePage(changes: [.message(Fixtures.message("m1", body: Self.canary))], cursor: FeedCursor("c")))
            _ = try AccountStorage(profile: folder.path + "/p", account: "b", keys: old)
        }
        let cacheFile = AccountStorage.folder(profile: folder.path + "/p", account: "a") + "/cache.sqlite"
        let sealedBody = {
            var configuration = Configuration()
            configuration.busyMode = .timeout(10)  // the storages' background checks may be reading
            return try DatabaseQueue(path: cacheFile, configuration: configuration).read {
                try Data.fetchOne($0, sql: "SELECT body FROM message")
            }
        }
        let before = try sealedBody()
        var installed = false
        let count = try AccountStorage.rotateKeyEncryptionKey(
            profile: folder.path + "/p", from: old, to: try new.keyEncryptionKey(creatingIfMissing: true)
        ) {
            // Both keys open the profile while the new one is being put in place.
            _ = try AccountStorage(profile: folder.path + "/p", account: "a", keys: old)
            _ = try AccountStorage(profile: folder.path + "/p", account: "a", keys: new)
            installed = true
        }
        #expect(installed)
        #expect(count == 4)
        // The sealed row is the same bytes: the data key did not change, only its wrapping.
        #expect(try sealedBody() == before)
        let rotated = try AccountStorage(profile: folder.path + "/p", account: "a", keys: new)
        #expect(try await rotated.cache.message("m1")?.body == Self.canary)
        #expect(throws: PlusGuidancePersistence.PersistenceError.keyUnavailableCode) {
            try AccountStorage(profile: folder.path + "/p", account: "a", keys: old)
        }
    }

    @Test func anOutboxFromBeforeSealedReasonsHasItsReasonsSealedAndItsFileRewritten() async throws {
        let folder = try TemporaryFolder()
        let path = folder.path + "/outbox.sqlite"
        let cipher = FieldCipher.ephemeral()
        // An outbox as the last release wrote it: a failure's reason in clear, no migration 0006.
        do {
            let outbox = try SQLiteOutboxStore(path: path, cipher: cipher)
            var failed = try await outbox.enqueue(Fixtures.sendEntry("k1"))
            failed.state = .failed
            failed.lastError = OutboxFailure(code: "refused", reason: Self.canary + "-reason")
            try await outbox.update(failed, durably: true)
            _ = try await outbox.enqueue(Fixtures.sendEntry("k2"))
            try await outbox.database.write { db in
                try db.execute(
                    sql: "UPDATE outbox SET lastErrorReason = ? WHERE key = 'k1'", arguments: [Self.canary + "-reason"])
                try db.execute(sql: "DELETE FROM grdb_migrations WHERE identifier = '0006-sealed-reasons'")
            }
            try outbox.database.close()
        }
        #expect(contains(path, Self.canary) || contains(path + "-wal", Self.canary))
        let outbox = try SQLiteOutboxStore(path: path, cipher: cipher)
        let entries = try await outbox.entries()
        #expect(entries.map(\.lastError?.reason) == [Self.canary + "-reason", nil])
        for suffix in ["", "-wal"] { #expect(!contains(path + suffix, Self.canary), "\(suffix)") }
    }

    @Test func aPlaintextCacheIsRewrittenIntoANewFileAndAnInterruptedRewriteIsFinished() async throws {
        let folder = try TemporaryFolder()
        let path = folder.path + "/cache.sqlite"
        // A cache as the last release wrote it: bodies in clear, no sealing migration.
        do {
            let plain = try SQLiteCacheStore(path: path, cipher: .unencrypted)
            try await plain.apply(
                ChangePage(changes: [.message(Fixtures.message("m1", body: Self.canary))], cursor: FeedCursor("c")))
            try await plain.database.write { db in
                try db.execute(sql: "UPDATE message SET body = CAST(body AS TEXT)")
                try db.execute(sql: "DELETE FROM grdb_migrations WHERE identifier = '0002-sealed-bodies'")
            }
            try plain.database.close()
        }
        #expect(contains(path, Self.canary) || contains(path + "-wal", Self.canary))
        // A crash left the old file set aside and a half-made copy: the original comes back.
        try FileManager.default.moveItem(atPath: path, toPath: path + ".plaintext")
        try Data("half a copy".utf8).write(to: URL(fileURLWithPath: path + ".sealing"))

        let cipher = FieldCipher.ephemeral()
        let sealed = try SQLiteCacheStore(path: path, cipher: cipher)
        #expect(try await sealed.message("m1")?.body == Self.canary)
        #expect(!contains(path, Self.canary))
        #expect(!contains(path + "-wal", Self.canary))
        for leftover in [".plaintext", ".sealing", ".sealed", "-journal"] {
            #expect(!FileManager.default.fileExists(atPath: path + leftover), "\(leftover)")
        }
        let tables = try await sealed.database.read { try String.fetchAll($0, sql: "SELECT name FROM sqlite_master") }
        #expect(!tables.contains("pendingRewrite"))
    }

    @Test func keyFilesAreParsedCheckedAndCreatedOnce() throws {
        let folder = try TemporaryFolder()
        let path = folder.path + "/config/plusguidance/key"
        let provider = FileKeyProvider(path: path)
        #expect(throws: PlusGuidancePersistence.PersistenceError.keyUnavailableCode) {
            try provider.keyEncryptionKey(creatingIfMissing: false)
        }
        let created = try provider.keyEncryptionKey(creatingIfMissing: true)
        #expect(created.count == 32)
        #expect(try provider.keyEncryptionKey(creatingIfMissing: true) == created)
        #expect(fileMode(path) == 0o600)
        #expect(fileMode(folder.path + "/config/plusguidance") == 0o700)
        // Raw, base64 and hex forms of one key are the same key.
        let raw = Data(created)
        for (name, contents) in [
            ("raw", raw), ("b64", Data((raw.base64EncodedString() + "\n").utf8)),
            ("hex", Data(raw.map { String(format: "%02x", $0) }.joined().utf8)),
        ] {
            let file = folder.path + "/" + name
            #expect(
                FileManager.default.createFile(atPath: file, contents: contents, attributes: [.posixPermissions: 0o600])
            )
            #expect(try FileKeyProvider(path: file).keyEncryptionKey(creatingIfMissing: false) == created)
        }
        chmod(folder.path + "/raw", 0o604)
        #expect(throws: PlusGuidancePersistence.PersistenceError.keyUnavailableCode) {
            try FileKeyProvider(path: folder.path + "/raw").keyEncryptionKey(creatingIfMissing: false)
        }
        #expect(
            FileManager.default.createFile(
                atPath: folder.path + "/short", contents: Data("abc".utf8), attributes: [.posixPermissions: 0o600]))
        #expect(throws: PlusGuidancePersistence.PersistenceError.keyUnavailableCode) {
            try FileKeyProvider(path: folder.path + "/short").keyEncryptionKey(creatingIfMissing: false)
        }
    }

    /// `--key-file /tmp/key` made `/tmp` (1777) 0700, locking every other user out of it: the
    /// folder a key file goes into is made private only when the SDK creates it.
    @Test func aKeyFileInASharedFolderLeavesTheFolderAsItWas() throws {
        let folder = try TemporaryFolder()
        let shared = folder.path + "/shared"
        #expect(mkdir(shared, 0o755) == 0)
        #expect(chmod(shared, 0o1777) == 0)
        _ = try FileKeyProvider(path: shared + "/key").keyEncryptionKey(creatingIfMissing: true)
        #expect(fileMode(shared + "/key") == 0o600)
        var info = stat()
        #expect(stat(shared, &info) == 0)
        #expect(info.st_mode & 0o7777 == 0o1777, "the shared folder's mode changed")
        // A folder the key file needs is still created private.
        _ = try FileKeyProvider(path: shared + "/new/key").keyEncryptionKey(creatingIfMissing: true)
        #expect(fileMode(shared + "/new") == 0o700)
    }

    @Test func theKeySourceIsTheFlagThenTheEnvironmentThenTheCredentialThenTheConfigFolder() throws {
        let folder = try TemporaryFolder()
        let credentials = folder.path + "/credentials"
        try FileManager.default.createDirectory(atPath: credentials, withIntermediateDirectories: true)
        let base = ["HOME": folder.path + "/home", "XDG_CONFIG_HOME": folder.path + "/xdg"]
        #expect(KeySource.provider(keyFile: "/k/flag", environment: base + ["PG_KEY_FILE": "/k/env"]).path == "/k/flag")
        #expect(KeySource.provider(environment: base + ["PG_KEY_FILE": "/k/env"]).path == "/k/env")
        // A credential folder without the credential falls through.
        #expect(
            KeySource.provider(environment: base + ["CREDENTIALS_DIRECTORY": credentials]).path
                == folder.path + "/xdg/plusguidance/key")
        _ = FileManager.default.createFile(atPath: credentials + "/plusguidance.key", contents: Data())
        let credential = KeySource.provider(environment: base + ["CREDENTIALS_DIRECTORY": credentials])
        #expect(credential.path == credentials + "/plusguidance.key")
        #expect(!credential.creatable)
        #expect(
            KeySource.provider(environment: ["HOME": folder.path + "/home"]).path
                == folder.path + "/home/.config/plusguidance/key")
    }

    /// An app's own key store (the desktop's Secret Service, an HSM) through the seam.
    struct VaultKeys: KeyProvider {
        let key: [UInt8]
        var keyDescription: String { "the app's vault" }
        func keyEncryptionKey(creatingIfMissing: Bool) throws -> [UInt8] { key }
    }

    @Test func anAppBringsItsOwnKeyProvider() async throws {
        let folder = try TemporaryFolder()
        let vault = VaultKeys(key: Array(repeating: 7, count: 32))
        do {
            let storage = try AccountStorage(profile: folder.path + "/p", account: "a", keys: vault)
            try await storage.cache.apply(
                ChangePage(changes: [.message(Fixtures.message("m1", body: Self.canary))], cursor: FeedCursor("c")))
        }
        let reopened = try AccountStorage(profile: folder.path + "/p", account: "a", keys: vault)
        #expect(try await reopened.cache.message("m1")?.body == Self.canary)
        do {
            _ = try AccountStorage(
                profile: folder.path + "/p", account: "a", keys: VaultKeys(key: Array(repeating: 8, count: 32)))
            Issue.record("another vault key opened the profile")
        } catch let error as PlusGuidancePersistence.PersistenceError {
            #expect(error.code == "key_unavailable")
            #expect(error.path == "the app's vault")
        }
    }

    @Test func aMissingOrWrongKeyChangesNothingOnDisk() async throws {
        let folder = try TemporaryFolder()
        do {
            let storage = try AccountStorage(profile: folder.path + "/p", account: "a", keys: keys(folder))
            _ = try await storage.outbox.enqueue(Fixtures.sendEntry("k1"))
        }
        let account = AccountStorage.folder(profile: folder.path + "/p", account: "a")
        let snapshot = { () -> [String: Data] in
            var files: [String: Data] = [:]
            for name in (try? FileManager.default.contentsOfDirectory(atPath: account)) ?? [] {
                files[name] = FileManager.default.contents(atPath: account + "/" + name)
            }
            return files
        }
        let before = snapshot()
        let wrong = keys(folder, "wrong")
        _ = try wrong.keyEncryptionKey(creatingIfMissing: true)
        #expect(throws: PlusGuidancePersistence.PersistenceError.keyUnavailableCode) {
            try AccountStorage(profile: folder.path + "/p", account: "a", keys: wrong)
        }
        // A second account on the profile cannot make a new key either: the profile has data.
        #expect(throws: PlusGuidancePersistence.PersistenceError.keyUnavailableCode) {
            try AccountStorage(profile: folder.path + "/p", account: "b", keys: keys(folder, "absent"))
        }
        #expect(!FileManager.default.fileExists(atPath: folder.path + "/keys/absent"))
        #expect(snapshot() == before)
        let back = try AccountStorage(profile: folder.path + "/p", account: "a", keys: keys(folder))
        #expect(try await back.outbox.entries().map(\.id) == ["k1"])
    }
}

extension Dictionary where Key == String, Value == String {
    fileprivate static func + (lhs: Self, rhs: Self) -> Self { lhs.merging(rhs) { $1 } }
}
