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
        let pg = try builtProduct("pg")
        let alice = try await signedIn("alice@example.com", on: server.url, profile: folder + "/alice")
        #expect(try await runProcess(pg, alice + ["send", "therapist@example.com", "before the damage"]).status == 0)
        #expect(try await runProcess(pg, alice + ["sync"]).status == 0)

        // The cache's pages in its main file, then half of them cut off.
        let cache = try accountFile("cache.sqlite", in: folder + "/alice")
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

    /// A cached message whose sealed body no longer opens (one byte flipped): the read that met
    /// it failed whole (`undecodable_row`). Now it is left out, said on stderr, and the next
    /// sync fetches it again, once.
    @Test func aCachedMessageThatDoesNotOpenIsLeftOutAndFetchedAgain() async throws {
        let folder = FileManager.default.temporaryDirectory.path + "/pg-damaged-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let server = try await ReferenceServerProcess.launch()
        defer { server.stop() }
        let pg = try builtProduct("pg")
        let alice = try await signedIn("alice@example.com", on: server.url, profile: folder + "/alice")
        for n in 1...3 {
            #expect(try await runProcess(pg, alice + ["send", "therapist@example.com", "text \(n)"]).status == 0)
        }
        #expect(try await runProcess(pg, alice + ["sync"]).status == 0)
        let cache = try accountFile("cache.sqlite", in: folder + "/alice")
        // The second text's body: one byte of its ciphertext flipped.
        let read = try await runProcess(
            "/usr/bin/sqlite3", [cache, "SELECT id, hex(body) FROM message ORDER BY createdAt, id LIMIT 1 OFFSET 1"])
        let parts = read.stdout.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "|")
        #expect(parts.count == 2, "\(read.stdout) \(read.stderr)")
        guard parts.count == 2 else { return }
        var hex = Array(parts[1])
        hex[40] = hex[40] == "0" ? "1" : "0"
        let write = try await runProcess(
            "/usr/bin/sqlite3", [cache, "UPDATE message SET body = X'\(String(hex))' WHERE id = '\(parts[0])'"])
        #expect(write.status == 0, "\(write.stderr)")

        @Sendable func shown() async throws -> (texts: [String], stderr: String) {
            let run = try await runProcess(pg, alice + ["--json", "messages", "therapist@example.com"])
            #expect(run.status == 0, "\(run.stderr)")
            let json = (try? JSONSerialization.jsonObject(with: Data(run.stdout.utf8))) as? [[String: Any]] ?? []
            return (json.compactMap { $0["body"] as? String }, run.stderr)
        }
        let damaged = try await shown()
        #expect(damaged.texts == ["text 1", "text 3"])
        #expect(damaged.stderr.contains("1 cached message(s) could not be read"), "\(damaged.stderr)")

        #expect(try await runProcess(pg, alice + ["sync"]).status == 0)
        let healed = try await shown()
        #expect(healed.texts == ["text 1", "text 2", "text 3"])
        #expect(!healed.stderr.contains("could not be read"))
    }
}
