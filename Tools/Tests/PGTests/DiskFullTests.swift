import Foundation
@_spi(PlusGuidanceTools) import PlusGuidanceDomain
@_spi(PlusGuidanceTools) import PlusGuidanceNetworking
import PlusGuidanceTesting
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A kiosk's disk fills while `pg-syncd` is live (issue "The kiosk never fails silently"): texts
/// that arrive meanwhile were acknowledged by the stream, never stored, and never fetched again.
/// The profile lives on a 3 MiB tmpfs of its own (the tests run as root, as CI does).
@Suite struct DiskFullTests {
    @Test func textsThatArriveWhileTheDiskIsFullReachTheCacheOnceItTakesWritesAgain() async throws {
        let server = try await ReferenceServerProcess.launch()
        defer { server.stop() }
        let folder = FileManager.default.temporaryDirectory.path + "/pg-diskfull-\(UUID().uuidString)"
        let disk = folder + "/disk"
        try FileManager.default.createDirectory(atPath: disk, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let mount = try await runProcess("/bin/mount", ["-t", "tmpfs", "-o", "size=3m", "tmpfs", disk])
        #expect(mount.status == 0, "mount a tmpfs (needs root): \(mount.stderr)")
        guard mount.status == 0 else { return }
        defer { _ = umount2(disk, Int32(MNT_DETACH)) }

        let pg = try builtProduct("pg")
        let alice = try await signedIn("alice@example.com", on: server.url, profile: disk + "/alice")
        let theo = try await signedIn("therapist@example.com", on: server.url, profile: folder + "/theo")
        let metrics = freeLoopbackPort()
        let daemon = try ChildProcess(
            try builtProduct("pg-syncd"), alice + ["--metrics-port", "\(metrics)"], stderr: .pipe)
        defer {
            daemon.signal(SIGTERM)
            daemon.wait(deadline: .now + .seconds(30))
        }
        let log = LineCollector(daemon.standardError)
        let http = CurlHTTPClient()
        @Sendable func page(_ path: String) async -> (status: Int, body: String) {
            let answer = try? await http.execute(HTTPRequest(url: URL(string: "http://127.0.0.1:\(metrics)\(path)")!))
            return (answer?.status ?? 0, String(decoding: answer?.body ?? Data(), as: UTF8.self))
        }
        try await waitUntil { await page("/metrics").body.contains("pg_live 1") }

        // Fill the disk.
        let filler = disk + "/filler"
        _ = FileManager.default.createFile(atPath: filler, contents: nil)
        let handle = try #require(FileHandle(forWritingAtPath: filler))
        let block = Data(count: 64 * 1_024)
        while (try? handle.write(contentsOf: block)) != nil {}
        try? handle.close()

        for n in 0..<30 {
            let sent = try await runProcess(pg, theo + ["send", "alice@example.com", "while full \(n)"])
            #expect(sent.status == 0, "\(sent.stderr)")
        }
        // The daemon says the cache is stale: its health, its metrics, its log.
        try await waitUntil { await page("/healthz").status == 503 }
        #expect(await page("/healthz").body.contains("storage_failed"))
        try await waitUntil { await page("/metrics").body.contains("pg_live 0") }
        #expect(log.lines.contains { $0.contains("could not be stored") }, "\(log.lines)")
        let status = try await runProcess(pg, alice + ["status"])
        #expect(status.stdout.contains("offline (storage_failed) (synced by process"), "\(status.stdout)")

        // The disk takes writes again: every text is in the cache within seconds, once each.
        try FileManager.default.removeItem(atPath: filler)
        let freed = ContinuousClock.now
        @Sendable func texts() async throws -> [String] {
            let run = try await runProcess(
                pg, alice + ["--json", "messages", "therapist@example.com", "--limit", "100"])
            let messages = (try? JSONSerialization.jsonObject(with: Data(run.stdout.utf8))) as? [[String: Any]]
            return (messages ?? []).compactMap { $0["body"] as? String }.filter { $0.hasPrefix("while full") }
        }
        try await waitUntil(within: .seconds(30)) { try await texts().count == 30 }
        let caughtUp = ContinuousClock.now - freed
        print("disk full: all 30 texts in the cache \(caughtUp) after the disk took writes again")
        #expect(Set(try await texts()).count == 30)
        try await waitUntil { await page("/healthz").status == 200 }
        try await waitUntil { await page("/metrics").body.contains("pg_live 1") }
        try await waitUntil { log.lines.contains { $0.contains("caught up") } }
    }
}
