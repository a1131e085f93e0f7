import Foundation
import GRDB
@_spi(PlusGuidanceTools) import PlusGuidanceDomain
@_spi(PlusGuidanceTools) import PlusGuidancePersistence
import PlusGuidanceTesting
import Testing

@Suite struct AccountStorageTests {
    @Test func foldersAre0700AndEveryFileIs0600WhateverTheUmask() async throws {
        let profile = try TemporaryFolder()
        let previous = umask(0)
        defer { umask(previous) }
        let storage = try AccountStorage(profile: profile.path + "/p", account: "usr_alice", keys: testKeys)
        try await storage.cache.apply(ChangePage(changes: [.message(Fixtures.message("m1"))], cursor: FeedCursor("c")))
        _ = try await storage.outbox.enqueue(Fixtures.sendEntry("k1"))
        let lock = try storage.acquireEngineLock()

        #expect(fileMode(profile.path + "/p") == 0o700)
        #expect(fileMode(profile.path + "/p/accounts") == 0o700)
        #expect(fileMode(storage.folder) == 0o700)
        let files = try FileManager.default.contentsOfDirectory(atPath: storage.folder)
        #expect(
            Set(files).isSuperset(of: [
                "cache.sqlite", "cache.sqlite-wal", "cache.sqlite-shm", "outbox.sqlite", "outbox.sqlite-wal",
                "outbox.sqlite-shm", "engine.lock",
            ]))
        // Every folder in it (the change markers beside each database) 0700, every file 0600.
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: storage.folder + "/outbox.sqlite-changes") == ["outbox"]
        )
        for file in try FileManager.default.subpathsOfDirectory(atPath: storage.folder) {
            var isFolder: ObjCBool = false
            _ = FileManager.default.fileExists(atPath: storage.folder + "/" + file, isDirectory: &isFolder)
            #expect(fileMode(storage.folder + "/" + file) == (isFolder.boolValue ? 0o700 : 0o600), "\(file)")
        }
        _ = lock
    }

    @Test func secretsAreWrittenAtomicallyAndPrivately() throws {
        let profile = try TemporaryFolder()
        let previous = umask(0)
        defer { umask(previous) }
        let storage = try AccountStorage(profile: profile.path, account: "a", keys: testKeys)
        #expect(storage.readSecret("tokens") == nil)
        try storage.writeSecret("tokens", Data("first".utf8))
        try storage.writeSecret("tokens", Data("second".utf8))
        #expect(storage.readSecret("tokens") == Data("second".utf8))
        #expect(fileMode(storage.folder + "/tokens") == 0o600)
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: storage.folder).filter { $0.contains(".tmp-") }.isEmpty)
        storage.removeSecret("tokens")
        #expect(storage.readSecret("tokens") == nil)
    }

    @Test func anExistingFolderWithLoosePermissionsIsTightened() throws {
        let profile = try TemporaryFolder()
        let folder = AccountStorage.folder(profile: profile.path, account: "usr_bob")
        try FileManager.default.createDirectory(
            atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        _ = FileManager.default.createFile(
            atPath: folder + "/cache.sqlite", contents: nil, attributes: [.posixPermissions: 0o644])
        _ = try AccountStorage(profile: profile.path, account: "usr_bob", keys: testKeys)
        #expect(fileMode(folder) == 0o700)
        #expect(fileMode(folder + "/cache.sqlite") == 0o600)
    }

    @Test(arguments: ["../../etc", "a/b", "", "..", "usr_ok-1.2"])
    func anAccountNameIsAlwaysOneComponentInsideTheProfile(name: String) {
        let folder = AccountStorage.folder(profile: "/p", account: name)
        #expect(folder.hasPrefix("/p/accounts/"))
        let component = String(folder.dropFirst("/p/accounts/".count))
        #expect(!component.contains("/"))
        #expect(component != "." && component != ".." && !component.isEmpty)
    }

    @Test func wipeRemovesEveryFileOfTheAccountAndNothingElse() async throws {
        let profile = try TemporaryFolder()
        let alice = try AccountStorage(profile: profile.path, account: "usr_alice", keys: testKeys)
        let bob = try AccountStorage(profile: profile.path, account: "usr_bob", keys: testKeys)
        _ = try await alice.outbox.enqueue(Fixtures.sendEntry("k1"))
        _ = try await bob.outbox.enqueue(Fixtures.sendEntry("k1"))
        try alice.wipe()
        #expect(!FileManager.default.fileExists(atPath: alice.folder))
        await #expect(throws: (any Error).self) { try await alice.cache.syncState() }
        #expect(try await bob.outbox.entries().count == 1)
    }

    @Test func theOutboxIsDurableAtCommitAndTheCacheIsNot() async throws {
        let profile = try TemporaryFolder()
        let storage = try AccountStorage(profile: profile.path, account: "a", keys: testKeys)
        // PRAGMA synchronous: 1 = NORMAL, 2 = FULL (sqlite.org/pragma.html#pragma_synchronous).
        #expect(try await storage.outbox.database.write { try Int.fetchOne($0, sql: "PRAGMA synchronous") } == 2)
        #expect(try await storage.cache.database.write { try Int.fetchOne($0, sql: "PRAGMA synchronous") } == 1)
        #expect(try await storage.cache.database.read { try String.fetchOne($0, sql: "PRAGMA journal_mode") } == "wal")
    }

    @Test func enqueueSurvivesReopeningAndARetriedEnqueueAddsNothing() async throws {
        let profile = try TemporaryFolder()
        do {
            let storage = try AccountStorage(profile: profile.path, account: "a", keys: testKeys)
            _ = try await storage.outbox.enqueue(Fixtures.sendEntry("k1", body: "Before the crash"))
        }
        let reopened = try AccountStorage(profile: profile.path, account: "a", keys: testKeys)
        let retried = try await reopened.outbox.enqueue(Fixtures.sendEntry("k1", body: "Retried after the crash"))
        #expect(retried.outgoingMessage?.body == "Before the crash")
        #expect(try await reopened.outbox.entries().map(\.id) == ["k1"])
    }

    @Test func aPageThatFailsHalfwayLeavesNeitherItsChangesNorItsCursor() async throws {
        let folder = try TemporaryFolder()
        let cache = try SQLiteCacheStore(path: folder.path + "/cache.sqlite", cipher: testCipher)
        try await cache.apply(ChangePage(changes: [.message(Fixtures.message("m0"))], cursor: FeedCursor("c1")))
        try await cache.database.write { db in
            try db.execute(
                sql: "CREATE TRIGGER refuse BEFORE INSERT ON session BEGIN SELECT RAISE(ABORT, 'refused'); END")
        }
        await #expect(throws: DatabaseError.self) {
            try await cache.apply(
                ChangePage(
                    changes: [
                        .message(Fixtures.message("m1")), .offer(Fixtures.offer("o1")),
                        .session(Fixtures.session("s1")),
                    ], cursor: FeedCursor("c2")))
        }
        #expect(try await cache.message("m1") == nil)
        #expect(try await cache.offer("o1") == nil)
        #expect(try await cache.syncState().cursor == FeedCursor("c1"))
    }

    @Test func aDatabaseFromANewerVersionIsRefusedAndLeftUntouched() async throws {
        let profile = try TemporaryFolder()
        do {
            let storage = try AccountStorage(profile: profile.path, account: "a", keys: testKeys)
            try await storage.cache.database.write { db in
                try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('9999-from-the-future')")
            }
            try await storage.cache.apply(
                ChangePage(changes: [.message(Fixtures.message("m1"))], cursor: FeedCursor("c")))
        }
        #expect(throws: PersistenceError.newerSchemaCode) {
            try AccountStorage(profile: profile.path, account: "a", keys: testKeys)
        }
        let queue = try DatabaseQueue(
            path: AccountStorage.folder(profile: profile.path, account: "a") + "/cache.sqlite")
        #expect(try await queue.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM message") } == 1)
        #expect(
            try await queue.read {
                try Int.fetchOne($0, sql: "SELECT count(*) FROM grdb_migrations WHERE identifier LIKE '9999%'")
            } == 1)
    }

    /// `.readOnly` opens each file as one read-only connection when it needs no work: it reads
    /// what a writer in another process committed, writes nothing (a write is refused and the
    /// files are unchanged), refuses a newer schema like a full open, and falls back to the full
    /// open (migrating) when the files are new.
    @Test func readOnlyAccessReadsEverythingWritesNothingAndFallsBackWhenWorkIsDue() async throws {
        let profile = try TemporaryFolder()
        // Nothing there yet: the full open creates and migrates.
        let first = try AccountStorage(profile: profile.path, account: "a", keys: testKeys, access: .readOnly)
        #expect(!first.isReadOnly)
        try await first.cache.apply(ChangePage(changes: [.message(Fixtures.message("m1"))], cursor: FeedCursor("c")))
        _ = try await first.outbox.enqueue(Fixtures.sendEntry("k1"))

        let reader = try AccountStorage(profile: profile.path, account: "a", keys: testKeys, access: .readOnly)
        #expect(reader.isReadOnly)
        #expect(try await reader.cache.message("m1")?.body == Fixtures.message("m1").body)
        #expect(try await reader.outbox.entries().map(\.id) == [IdempotencyKey("k1")])
        // A commit by the writer after the reader opened is seen by its next read.
        try await first.cache.apply(ChangePage(changes: [.message(Fixtures.message("m2"))], cursor: FeedCursor("d")))
        #expect(try await reader.cache.message("m2") != nil)
        // Writing through the reader fails and changes nothing.
        await #expect(throws: (any Error).self) {
            try await reader.cache.apply(
                ChangePage(changes: [.message(Fixtures.message("m3"))], cursor: FeedCursor("e")))
        }
        #expect(try await first.cache.message("m3") == nil)
        #expect(try await first.cache.syncState().cursor == FeedCursor("d"))

        // A cache written by a newer version is refused read-only too.
        try await first.cache.database.write { db in
            try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('9999-from-the-future')")
        }
        #expect(throws: PersistenceError.newerSchemaCode) {
            try AccountStorage(profile: profile.path, account: "a", keys: testKeys, access: .readOnly)
        }
    }

    @Test func anUnreadableCacheIsMovedAsideAndRebuiltWhileTheOutboxIsKept() async throws {
        let profile = try TemporaryFolder()
        let folder = AccountStorage.folder(profile: profile.path, account: "a")
        do {
            let storage = try AccountStorage(profile: profile.path, account: "a", keys: testKeys)
            try await storage.cache.apply(
                ChangePage(changes: [.message(Fixtures.message("m1"))], cursor: FeedCursor("c")))
            _ = try await storage.outbox.enqueue(Fixtures.sendEntry("k1"))
        }
        try Data(repeating: 0x5A, count: 8_192).write(to: URL(fileURLWithPath: folder + "/cache.sqlite"))
        try? FileManager.default.removeItem(atPath: folder + "/cache.sqlite-wal")

        let storage = try AccountStorage(profile: profile.path, account: "a", keys: testKeys, now: Fixtures.epoch)
        let movedAside = try #require(storage.movedAsideCache)
        #expect(movedAside == folder + "/cache.sqlite.corrupt-1800000000")
        #expect(FileManager.default.fileExists(atPath: movedAside))
        #expect(try await storage.cache.syncState().cursor == nil)
        #expect(try await storage.cache.message("m1") == nil)
        #expect(try await storage.outbox.entries().map(\.id) == ["k1"])
        try await storage.cache.apply(ChangePage(changes: [.message(Fixtures.message("m2"))], cursor: FeedCursor("c")))
        #expect(try await storage.cache.message("m2") != nil)
    }

    /// Makes a cache of 2,000 messages for account "a" and overwrites pages in the middle of its
    /// file (b-tree pages, not the header) with garbage. Returns the account folder.
    func makeDamagedCache(in profile: TemporaryFolder) async throws -> String {
        let folder = AccountStorage.folder(profile: profile.path, account: "a")
        do {
            let storage = try AccountStorage(profile: profile.path, account: "a", keys: testKeys)
            let messages = (0..<2_000).map {
                Change.message(Fixtures.message("m\($0)", at: Double($0), body: String(repeating: "x", count: 200)))
            }
            try await storage.cache.apply(ChangePage(changes: messages, cursor: FeedCursor("c")))
            _ = try await storage.cache.database.writeWithoutTransaction { try $0.checkpoint(.truncate) }
        }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: folder + "/cache.sqlite"))
        try handle.seek(toOffset: 40_960)
        handle.write(Data(repeating: 0xFF, count: 16_384))
        try handle.close()
        return folder
    }

    @Test func aCacheWithADamagedPageFailsItsQuickCheckAndIsRebuilt() async throws {
        let profile = try TemporaryFolder()
        let folder = try await makeDamagedCache(in: profile)

        // In the background (the default), the check marks the cache and the next open rebuilds it.
        let first = try AccountStorage(profile: profile.path, account: "a", keys: testKeys)
        #expect(first.movedAsideCache == nil)
        #expect(await first.cacheIntegrityProblem() != nil)
        let second = try AccountStorage(profile: profile.path, account: "a", keys: testKeys)
        #expect(second.movedAsideCache != nil)
        #expect(await second.cacheIntegrityProblem() == nil)
        #expect(try await second.cache.messages(in: Fixtures.theoAlice.conversationID, limit: 5, before: nil).isEmpty)
        #expect(!FileManager.default.fileExists(atPath: folder + "/cache.sqlite.needs-rebuild"))
    }

    /// A short-lived process skips the check; the damage waits for a process that checks.
    @Test func aSkippedCheckLeavesTheCacheForTheNextProcessThatChecks() async throws {
        let profile = try TemporaryFolder()
        let folder = try await makeDamagedCache(in: profile)
        let command = try AccountStorage(
            profile: profile.path, account: "a", keys: testKeys, cacheIntegrityCheck: .skipped)
        #expect(await command.cacheIntegrityProblem() == nil)
        #expect(!FileManager.default.fileExists(atPath: folder + "/cache.sqlite.needs-rebuild"))
        #expect(command.movedAsideCache == nil)
        let daemon = try AccountStorage(profile: profile.path, account: "a", keys: testKeys)
        #expect(await daemon.cacheIntegrityProblem() != nil)
        #expect(FileManager.default.fileExists(atPath: folder + "/cache.sqlite.needs-rebuild"))
    }

    @Test func aCheckOnOpenRebuildsADamagedCacheAtOnce() async throws {
        let profile = try TemporaryFolder()
        _ = try await makeDamagedCache(in: profile)
        let storage = try AccountStorage(
            profile: profile.path, account: "a", keys: testKeys, cacheIntegrityCheck: .onOpen)
        #expect(storage.movedAsideCache != nil)
        #expect(try await storage.cache.syncState().cursor == nil)
    }

    /// A command opens and closes the profile each time: closing leaves the WAL (no checkpoint,
    /// no syncs), and a read-only open after it writes nothing (GRDB writes to create a missing
    /// WAL, with two more syncs).
    @Test func aCommandThatOnlyReadsLeavesTheFilesAsTheyWere() async throws {
        let profile = try TemporaryFolder()
        let folder = AccountStorage.folder(profile: profile.path, account: "a")
        do {
            let storage = try AccountStorage(profile: profile.path, account: "a", keys: testKeys)
            _ = try await storage.outbox.enqueue(Fixtures.sendEntry("k1"))
            try await storage.cache.apply(
                ChangePage(changes: [.message(Fixtures.message("m1"))], cursor: FeedCursor("c1")))
        }
        func state(_ name: String) throws -> [FileAttributeKey: Any] {
            try FileManager.default.attributesOfItem(atPath: folder + "/" + name)
        }
        var before: [String: (Date?, Int?)] = [:]
        for name in ["cache.sqlite", "cache.sqlite-wal", "outbox.sqlite", "outbox.sqlite-wal"] {
            let attributes = try state(name)
            before[name] = (attributes[.modificationDate] as? Date, (attributes[.size] as? NSNumber)?.intValue)
        }
        #expect(before["cache.sqlite-wal"]?.1 ?? 0 > 0)
        try await Task.sleep(for: .milliseconds(20))
        do {
            let storage = try AccountStorage(profile: profile.path, account: "a", keys: testKeys)
            #expect(try await storage.outbox.entries().map(\.id) == ["k1"])
            #expect(try await storage.cache.syncState().cursor == FeedCursor("c1"))
        }
        for (name, (date, size)) in before {
            let attributes = try state(name)
            #expect(attributes[.modificationDate] as? Date == date, "\(name) was written")
            #expect((attributes[.size] as? NSNumber)?.intValue == size, "\(name) changed size")
        }
    }

    /// Emptying the outbox truncates its WAL (nothing of the entries stays) and puts back one
    /// frame, the header page: so the next open, finding a WAL that is not empty, writes nothing.
    @Test func anEmptiedOutboxKeepsOneHeaderFrameAndTheNextOpenWritesNothing() async throws {
        let profile = try TemporaryFolder()
        let folder = AccountStorage.folder(profile: profile.path, account: "a")
        let wal = folder + "/outbox.sqlite-wal"
        do {
            let storage = try AccountStorage(profile: profile.path, account: "a", keys: testKeys)
            _ = try await storage.outbox.enqueue(Fixtures.sendEntry("k-secret-entry"))
            try await storage.outbox.remove("k-secret-entry")
        }
        let frame = 24 + 4_096
        let contents = try #require(FileManager.default.contents(atPath: wal))
        #expect(contents.count == 32 + frame, "one frame after the WAL header")
        #expect(contents.range(of: Data("k-secret-entry".utf8)) == nil)
        let modified = try FileManager.default.attributesOfItem(atPath: wal)[.modificationDate] as? Date
        try await Task.sleep(for: .milliseconds(20))
        do {
            let storage = try AccountStorage(profile: profile.path, account: "a", keys: testKeys)
            #expect(try await storage.outbox.entries().isEmpty)
        }
        #expect(try FileManager.default.attributesOfItem(atPath: wal)[.modificationDate] as? Date == modified)
        #expect(FileManager.default.contents(atPath: wal)?.count == 32 + frame)
    }

    /// The same after a drain that took the WAL past its checkpoint limit: the last removal's
    /// commit hands a checkpoint to the store's checkpointer (WALCheckpointer), whose lock made
    /// the truncating checkpoint answer busy at once and leave the WAL as it was.
    @Test func anOutboxEmptiedWhileItsCheckpointRunsIsStillTruncated() async throws {
        let profile = try TemporaryFolder()
        let folder = AccountStorage.folder(profile: profile.path, account: "a")
        let storage = try AccountStorage(profile: profile.path, account: "a", keys: testKeys)
        let body = String(repeating: "secret body ", count: 1_000)
        let keys = (0..<300).map { IdempotencyKey("k-drained-\($0)") }
        for key in keys { _ = try await storage.outbox.enqueue(Fixtures.sendEntry(key.rawValue, body: body)) }
        // Zeroing 300 rows of three pages each takes the WAL past 1,000 pages in one commit.
        try await storage.outbox.remove(keys, durably: false)
        let contents = try #require(FileManager.default.contents(atPath: folder + "/outbox.sqlite-wal"))
        #expect(contents.count == 32 + 24 + 4_096, "one frame after the WAL header")
        #expect(contents.range(of: Data("k-drained-".utf8)) == nil)
    }

    @Test func aCorruptOutboxIsRefusedAndNeverDeleted() throws {
        let profile = try TemporaryFolder()
        let folder = AccountStorage.folder(profile: profile.path, account: "a")
        _ = try AccountStorage(profile: profile.path, account: "a", keys: testKeys)
        // Closing leaves the WAL, which would still hold every page of this new file: carried
        // into the file first, so that the damage below is all there is.
        try DatabaseQueue(path: folder + "/outbox.sqlite").writeWithoutTransaction {
            try $0.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)")
        }
        let garbage = Data(repeating: 0x42, count: 4_096)
        try garbage.write(to: URL(fileURLWithPath: folder + "/outbox.sqlite"))
        #expect(throws: PersistenceError.corruptOutboxCode) {
            try AccountStorage(profile: profile.path, account: "a", keys: testKeys)
        }
        #expect(FileManager.default.contents(atPath: folder + "/outbox.sqlite") == garbage)
    }

    @Test func anUndecodableRowIsAnErrorThatDoesNotRevealTheBody() async throws {
        let folder = try TemporaryFolder()
        let cache = try SQLiteCacheStore(path: folder.path + "/cache.sqlite", cipher: testCipher)
        try await cache.apply(
            ChangePage(changes: [.message(Fixtures.message("m1", body: "private words"))], cursor: FeedCursor("c")))
        try await cache.database.write { try $0.execute(sql: "UPDATE message SET kind = 'hologram'") }
        do {
            _ = try await cache.message("m1")
            Issue.record("expected an error")
        } catch {
            #expect(String(describing: error).contains("undecodable_row"))
            #expect(!String(describing: error).contains("private words"))
        }
    }
}
