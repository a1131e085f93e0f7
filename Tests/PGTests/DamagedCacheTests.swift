import Foundation
import PlusGuidanceTesting
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A truncated `cache.sqlite` (issue "The kiosk never fails silently"): `pg send` refused
/// "therapist@example.com is not one of your contacts" (exit 65, nothing queued), `pg clients`
/// listed nobody, `pg messages` exited 70 "SQLite error 11". Now each says the cache is damaged
/// (or, once set aside and rebuilt, empty) and that a sync brings it back; `pg sync` does, and
/// the outbox was never touched.
@Suite struct DamagedCacheTests {
    @Test func aTruncatedCacheIsSaidToBeDamagedAndASyncRebuildsIt() async throws {
        let folder = FileManager.default.temporaryDirectory.path + "/pg-damaged-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let server = try await RestartableReferenceServer.launch(databasePath: folder + "/server.sqlite")
        defer { server.shutdown() }
        let pg = try #require(ReferenceServerProcess.productPath("pg"))
        let alice = ["--server", server.url.absoluteString, "--profile", folder + "/alice"]
        #expect(
            try await runProcess(pg, alice + ["login", "alice@example.com", "--password-stdin"], stdin: "alice-pass\n")
                .status == 0)
        #expect(try await runProcess(pg, alice + ["send", "therapist@example.com", "before the damage"]).status == 0)
        #expect(try await runProcess(pg, alice + ["sync"]).status == 0)

        // The cache's pages in its main file, then half of them cut off.
        let cache = try #require(
            FileManager.default.enumerator(atPath: folder + "/alice")?.compactMap { $0 as? String }
                .first { $0.hasSuffix("cache.sqlite") }
                .map { folder + "/alice/" + $0 })
        let checkpoint = try await runProcess("/usr/bin/sqlite3", [cache, "PRAGMA wal_checkpoint(TRUNCATE)"])
        #expect(checkpoint.status == 0, "\(checkpoint.stderr)")
        let size = try #require(try FileManager.default.attributesOfItem(atPath: cache)[.size] as? Int)
        #expect(truncate(cache, off_t(size / 2)) == 0)

        server.stop()
        for command in [["send", "therapist@example.com", "after the damage"], ["clients"]] {
            let run = try await runProcess(pg, alice + command)
            #expect(run.status == 70, "\(command): \(run.stderr)")
            // Opened for writing (send), the damaged cache was set aside and rebuilt empty; opened
            // read-only (clients), it answers what it can. Either way the command says so.
            #expect(
                (run.stderr.contains("the cache is damaged") || run.stderr.contains("holds nothing from the server"))
                    && run.stderr.contains("pg sync"), "\(run.stderr)")
            #expect(!run.stderr.contains("not one of your contacts"))
        }

        try await server.start()
        let sync = try await runProcess(pg, alice + ["sync"])
        #expect(sync.status == 0, "\(sync.stderr)")
        let messages = try await runProcess(pg, alice + ["--json", "messages", "therapist@example.com"])
        #expect(messages.status == 0 && messages.stdout.contains("before the damage"), "\(messages.stderr)")
        #expect(try await runProcess(pg, alice + ["send", "therapist@example.com", "after the rebuild"]).status == 0)
    }
}
