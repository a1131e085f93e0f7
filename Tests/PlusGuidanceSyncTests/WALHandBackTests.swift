import Foundation
@_spi(PlusGuidanceTools) import PlusGuidancePersistence
@_spi(PlusGuidanceTools) import PlusGuidanceSync
import PlusGuidanceTesting
import Testing

/// A client hands the engine back with the cache's WAL emptied once it has grown past
/// `SQLiteCacheStore.walCompactionFrames` (4 MiB): the next process to open the cache then
/// does not rebuild SQLite's WAL index from tens of MiB (62 MiB after 1,500 `pg send`s, which
/// made each `pg messages` 2.4 times slower).
@Suite struct WALHandBackTests {
    @Test func manySendsLeaveTheCachesWALSmallAndEveryTextInTheDatabaseFile() async throws {
        let server = try await ReferenceServerProcess.launch()
        defer { server.stop() }
        let profile = FileManager.default.temporaryDirectory.path + "/pg-wal-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: profile) }
        let client = try await PlusGuidanceClient.open(ClientConfiguration(serverURL: server.url, profile: profile))
        let alice = try await client.signIn(email: "alice@example.com", password: "alice-pass")
        try await client.syncNow()
        // Each delivered send commits the pending text, then the server's answer: about 40 KiB
        // of WAL each, 10 MiB for 250 without the compaction.
        let texts = 250
        for index in 0..<texts {
            let sent = try await client.send(
                "text \(index) about sleep, work and the breathing exercise", to: "usr_therapist")
            #expect(try await sent.outcome(waitingUpTo: .seconds(30)) == .delivered)
        }
        let cache = profile + "/accounts/\(alice.id.rawValue)/cache.sqlite"
        let size = { (path: String) in (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0 }
        let limit = 32 + SQLiteCacheStore.walCompactionFrames * (4_096 + 24)
        #expect(size(cache + "-wal") <= limit + (1 << 20), "WAL of \(size(cache + "-wal")) bytes")
        #expect(size(cache) > 100_000, "the texts were copied into the database file")
        await client.close()

        // Another process's view: every text, read from the files as they were left.
        let reader = try await PlusGuidanceClient.open(ClientConfiguration(serverURL: server.url, profile: profile))
        let messages = try await reader.messages(with: "usr_therapist", limit: 500)
        #expect(messages.filter { $0.body.hasPrefix("text ") }.count == texts)
        await reader.close()
    }
}
