import Foundation
@_spi(PlusGuidanceTools) import PlusGuidanceDomain
@_spi(PlusGuidanceTools) import PlusGuidanceNetworking
import PlusGuidanceTesting
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// One undecodable outbox row (issue "The kiosk never fails silently"): a byte flipped inside one
/// sealed row made `pg outbox`, `pg sync` and even `pg outbox discard` exit 70 naming no row, and
/// `pg-syncd` stop delivering with nothing logged. The row is now quarantined: shown failed with
/// its key, discardable, logged and counted, and everything else goes out.
@Suite struct OutboxQuarantineTests {
    /// Flips one byte in the middle of the sealed action of `key` in `outbox`.
    static func damage(_ key: String, in outbox: String) async throws {
        let read = try await runProcess(
            "/usr/bin/sqlite3", [outbox, "SELECT hex(action) FROM outbox WHERE key = '\(key)'"])
        var hex = Array(read.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        guard hex.count > 80 else { throw ConditionNotMet(description: "no sealed action for \(key): \(read.stderr)") }
        hex[60] = hex[60] == "0" ? "1" : "0"
        let write = try await runProcess(
            "/usr/bin/sqlite3", [outbox, "UPDATE outbox SET action = X'\(String(hex))' WHERE key = '\(key)'"])
        guard write.status == 0 else { throw ConditionNotMet(description: "sqlite3: \(write.stderr)") }
        let check = try await runProcess("/usr/bin/sqlite3", [outbox, "PRAGMA integrity_check"])
        #expect(check.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "ok")
    }

    @Test func aDamagedOutboxRowIsSetAsideAndEverythingElseGoesOut() async throws {
        let folder = FileManager.default.temporaryDirectory.path + "/pg-quarantine-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let server = try await RestartableReferenceServer.launch(databasePath: folder + "/server.sqlite")
        defer { server.shutdown() }
        let pg = try builtProduct("pg")
        let alice = try await signedIn("alice@example.com", on: server.url, profile: folder + "/alice")

        // Eight texts queued offline; the fourth one's row is damaged.
        server.stop()
        for n in 1...8 {
            let sent = try await runProcess(pg, alice + ["send", "therapist@example.com", "queued \(n)"])
            #expect(sent.status == 0, "\(sent.stderr)")
        }
        let queued = try #require(
            try JSONSerialization.jsonObject(
                with: Data(try await runProcess(pg, alice + ["--json", "outbox"]).stdout.utf8))
                as? [[String: Any]])
        #expect(queued.count == 8)
        let bad = try #require(queued[3]["id"] as? String)
        try await Self.damage(bad, in: try accountFile("outbox.sqlite", in: folder + "/alice"))

        let listed = try await runProcess(pg, alice + ["--json", "outbox"])
        #expect(listed.status == 0, "\(listed.stderr)")
        let entries = try #require(try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [[String: Any]])
        #expect(entries.count == 8)
        let set = try #require(entries.first { $0["id"] as? String == bad })
        #expect(set["action"] as? String == "unreadable")
        #expect(set["state"] as? String == "failed")
        #expect((set["error"] as? [String: Any])?["code"] as? String == "undecodable")
        #expect(entries.filter { $0["state"] as? String == "pending" }.count == 7)

        // The daemon delivers what comes before it, says so, and counts it.
        try await server.start()
        let port = freeLoopbackPort()
        let daemon = try ChildProcess(
            try builtProduct("pg-syncd"), alice + ["--metrics-port", "\(port)"], stderr: .pipe)
        defer {
            daemon.signal(SIGTERM)
            daemon.wait(deadline: .now + .seconds(30))
        }
        let log = LineCollector(daemon.standardError)
        let theo = PlusGuidanceAPI(baseURL: server.url, http: CurlHTTPClient())
        _ = try await theo.login(email: "therapist@example.com", password: "therapist-pass")
        @Sendable func delivered() async throws -> [String] {
            try await theo.messages(with: "usr_alice", limit: 100).messages.map(\.body).filter {
                $0.hasPrefix("queued")
            }.reversed()
        }
        try await waitUntil { try await delivered() == ["queued 1", "queued 2", "queued 3"] }
        try await waitUntil { log.lines.contains { $0.contains("cannot be read") && $0.contains(bad) } }
        let http = CurlHTTPClient()
        let metrics = URL(string: "http://127.0.0.1:\(port)/metrics")!
        try await waitUntil {
            let body = String(
                decoding: (try? await http.execute(HTTPRequest(url: metrics)))?.body ?? Data(), as: UTF8.self)
            return body.contains(#"pg_outbox_errors{code="undecodable"} 1"#)
        }
        #expect(!log.lines.contains { $0.contains("queued ") }, "no body in a log line")

        // Retrying it is refused; discarding it lets the conversation's later texts go, once each.
        let retry = try await runProcess(pg, alice + ["outbox", "retry", bad])
        #expect(retry.status != 0 && retry.stderr.contains("discard it"), "\(retry.stderr)")
        let discard = try await runProcess(pg, alice + ["outbox", "discard", bad])
        #expect(discard.status == 0, "\(discard.stderr)")
        let expected = [1, 2, 3, 5, 6, 7, 8].map { "queued \($0)" }
        try await waitUntil { try await delivered() == expected }
        let left = try await runProcess(pg, alice + ["--json", "outbox"])
        #expect(left.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "[]", "\(left.stdout)")
    }
}
