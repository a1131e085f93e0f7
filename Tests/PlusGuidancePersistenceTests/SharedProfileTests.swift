import Foundation
import GRDB
@_spi(PlusGuidanceTools) import PlusGuidanceDomain
@_spi(PlusGuidanceTools) import PlusGuidancePersistence
import PlusGuidanceTesting
import Testing

/// Several processes on one profile: the daemon and `pg` commands.
@Suite struct SharedProfileTests {
    @Test func onlyOneHolderOfTheEngineLockAtATime() async throws {
        let profile = try TemporaryFolder()
        let storage = try AccountStorage(profile: profile.path, account: "a", keys: testKeys)
        var first: EngineLock? = try storage.acquireEngineLock()
        #expect(throws: PersistenceError.engineLockedCode) { try storage.acquireEngineLock() }
        // Another process sees it held too (flock(1) exits 1 when -n cannot lock).
        #expect(try await run(["flock", "-n", storage.engineLockPath, "true"]).status == 1)
        _ = first
        first = nil
        #expect(try await run(["flock", "-n", storage.engineLockPath, "true"]).status == 0)
        _ = try storage.acquireEngineLock()
    }

    @Test func aHolderKilledWithSIGKILLReleasesTheLock() async throws {
        let profile = try TemporaryFolder()
        let storage = try AccountStorage(profile: profile.path, account: "a", keys: testKeys)
        // One process that takes the lock, says so, and sleeps holding it (for longer than the
        // suite can take on a loaded machine: it is killed below).
        let holder = try ChildProcess(
            "/usr/bin/env",
            [
                "python3", "-c",
                "import fcntl, sys, time; f = open(sys.argv[1], 'a'); fcntl.flock(f, fcntl.LOCK_EX); print('locked', flush=True); time.sleep(3600)",
                storage.engineLockPath,
            ], stdout: .pipe)
        let said = try await onDedicatedThread { holder.standardOutput?.availableData ?? Data() }
        #expect(String(decoding: said, as: UTF8.self).hasPrefix("locked"))
        #expect(throws: PersistenceError.engineLockedCode) { try storage.acquireEngineLock() }
        holder.signal(SIGKILL)
        await holder.exitStatus(within: .seconds(60))
        _ = try storage.acquireEngineLock()
    }

    @Test func writersInTwoConnectionsNeverSeeDatabaseIsLocked() async throws {
        let profile = try TemporaryFolder()
        let daemon = try AccountStorage(profile: profile.path, account: "a", keys: testKeys)
        let command = try AccountStorage(profile: profile.path, account: "a", keys: testKeys)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (name, storage) in [("d", daemon), ("c", command)] {
                group.addTask {
                    for i in 0..<150 {
                        _ = try await storage.outbox.enqueue(Fixtures.sendEntry("\(name)\(i)"))
                        try await storage.cache.apply(
                            ChangePage(
                                changes: [.message(Fixtures.message("\(name)m\(i)", at: Double(i)))],
                                cursor: FeedCursor("\(name)\(i)")))
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(try await daemon.outbox.entries().count == 300)
        #expect(
            try await command.cache.messages(in: Fixtures.theoAlice.conversationID, limit: 1_000, before: nil).count
                == 300)
    }

    @Test func aWriteWaitsForAnotherProcessHoldingTheWriteLock() async throws {
        let profile = try TemporaryFolder()
        let storage = try AccountStorage(profile: profile.path, account: "a", keys: testKeys)
        // sqlite3 takes the write lock, holds it for a second in another process, then commits.
        let other = try ChildProcess("/usr/bin/env", ["sqlite3", storage.outboxPath], stdin: .pipe)
        try other.standardInput?.write(contentsOf: Data("BEGIN IMMEDIATE;\nSELECT 1;\n.shell sleep 1\nCOMMIT;\n".utf8))
        other.closeStandardInput()
        try await Task.sleep(for: .milliseconds(300))
        _ = try await storage.outbox.enqueue(Fixtures.sendEntry("k1"))
        #expect(await other.exitStatus(within: .seconds(60)) == 0)
        #expect(try await storage.outbox.entries().map(\.id) == ["k1"])
    }
}

@Suite struct ObservationTests {
    /// Collects values from `stream` until `predicate` holds, or fails after `seconds`.
    func first<T: Sendable>(
        _ stream: AsyncThrowingStream<T, any Error>, within seconds: Double = 60,
        where predicate: @escaping @Sendable (T) -> Bool
    ) async throws -> T? {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                for try await value in stream where predicate(value) { return value }
                return nil
            }
            group.addTask {
                try await Task.sleep(for: .seconds(seconds))
                return nil
            }
            let result = try await group.next() ?? nil
            group.cancelAll()
            return result
        }
    }

    @Test func messagesEmitTheInitialValueThenEachChange() async throws {
        let folder = try TemporaryFolder()
        let cache = try SQLiteCacheStore(path: folder.path + "/cache.sqlite", cipher: testCipher)
        try await cache.apply(ChangePage(changes: [.message(Fixtures.message("m1"))], cursor: FeedCursor("c1")))
        let stream = cache.observeMessages(in: Fixtures.theoAlice.conversationID)
        var iterator = stream.makeAsyncIterator()
        #expect(try await iterator.next()?.map(\.id) == ["m1"])
        try await cache.apply(ChangePage(changes: [.message(Fixtures.message("m2", at: 1))], cursor: FeedCursor("c2")))
        #expect(try await iterator.next()?.map(\.id) == ["m2", "m1"])
        // A change elsewhere does not re-emit an equal value; the next change here does.
        try await cache.apply(
            ChangePage(changes: [.message(Fixtures.message("b1", in: Fixtures.theoBob))], cursor: FeedCursor("c3")))
        try await cache.apply(ChangePage(changes: [.deleted(.message("m1"))], cursor: FeedCursor("c4")))
        #expect(try await iterator.next()?.map(\.id) == ["m2"])
    }

    @Test func changesFromAnotherConnectionAreObserved() async throws {
        let profile = try TemporaryFolder()
        let app = try AccountStorage(profile: profile.path, account: "a", keys: testKeys)
        let daemon = try AccountStorage(profile: profile.path, account: "a", keys: testKeys)
        let upcoming = app.cache.observeUpcomingSessions()
        let outbox = app.outbox.observeEntries()
        try await daemon.cache.apply(ChangePage(changes: [.session(Fixtures.session("s1"))], cursor: FeedCursor("c")))
        _ = try await daemon.outbox.enqueue(Fixtures.sendEntry("k1"))
        #expect(try await first(upcoming) { !$0.isEmpty }?.map(\.id) == ["s1"])
        #expect(try await first(outbox) { !$0.isEmpty }?.map(\.id) == ["k1"])
    }

    @Test func changesFromAnotherProcessAreObserved() async throws {
        let profile = try TemporaryFolder()
        let storage = try AccountStorage(profile: profile.path, account: "a", keys: testKeys)
        let offers = storage.cache.observeOffers()
        let offer = Fixtures.offer("o_cli")
        // The offer's details are sealed (R10): the other process writes the sealed value.
        let details = try storage.cache.cipher.sealString("voice\n30\n1", table: "offer", row: "o_cli")
        let hex = details.map { String(format: "%02x", $0) }.joined()
        let sql = """
            INSERT INTO offer (id, therapistID, clientID, details, startsAt, state, createdAt, expiresAt)
            VALUES ('o_cli', '\(offer.therapistID)', '\(offer.clientID)', X'\(hex)', NULL, 'pending', \(offer.createdAt.timeIntervalSinceReferenceDate), \(offer.expiresAt.timeIntervalSinceReferenceDate));
            """
        #expect(try await run(["sqlite3", storage.cachePath, sql]).status == 0)
        #expect(try await first(offers) { !$0.isEmpty } == [offer])
    }
}
