import Foundation
@_spi(PlusGuidanceTools) import PlusGuidanceDomain
@_spi(PlusGuidanceTools) import PlusGuidanceNetworking
@_spi(PlusGuidanceTools) import PlusGuidanceSync
import PlusGuidanceTesting
import Testing

/// The engine killed with SIGKILL at random points while it delivers (R8: nothing lost, nothing
/// delivered twice), with the real `pg` binary as the process that dies.
@Suite struct KillTests {
    var binary: String { get throws { try #require(ReferenceServerProcess.productPath("pg")) } }

    func finished(_ arguments: [String], stdin: String? = nil) async throws -> Int32 {
        try await runProcess(try binary, arguments, stdin: stdin).status
    }

    /// Runs `pg sync` until `pg outbox` is empty (at most 40 times).
    func syncUntilTheOutboxIsEmpty(_ base: [String]) async throws {
        for _ in 0..<40 {
            _ = try await finished(base + ["sync"])
            let outbox = try await runProcess(try binary, base + ["--json", "outbox"])
            if (try? JSONSerialization.jsonObject(with: Data(outbox.stdout.utf8)) as? [Any])?.isEmpty == true { return }
            try await Task.sleep(for: .milliseconds(200))
        }
    }

    @Test func killingTheSyncingProcessLosesAndDuplicatesNothing() async throws {
        let folder = FileManager.default.temporaryDirectory.path + "/pg-kill-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let database = folder + "/server.sqlite"
        let server = try await RestartableReferenceServer.launch(databasePath: database)
        defer { server.shutdown() }
        let base = ["--server", server.url.absoluteString, "--profile", folder + "/alice"]
        #expect(
            try await finished(base + ["login", "alice@example.com", "--password-stdin"], stdin: "alice-pass\n") == 0)
        server.stop()

        let count = 15
        for i in 1...count {
            #expect(
                try await finished(
                    base + [
                        "send", "alice@example.com".replacingOccurrences(of: "alice", with: "therapist"),
                        "kill test \(i)",
                    ]) == 0)
        }

        try await server.start()
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<8 {
            let sync = try ChildProcess(binary, base + ["sync"])
            try await Task.sleep(for: .milliseconds(Int.random(in: 10...250, using: &generator)))
            sync.signal(SIGKILL)
            await sync.exitStatus(within: .seconds(60))
        }
        // Whatever the kills left (in flight, pending, backing off) is delivered by later syncs.
        try await syncUntilTheOutboxIsEmpty(base)

        let theo = PlusGuidanceAPI(baseURL: server.url, http: CurlHTTPClient())
        _ = try await theo.login(email: "therapist@example.com", password: "therapist-pass")
        let texts = try await theo.messages(with: "usr_alice", limit: 100).messages.filter { $0.kind == .text }.map(
            \.body)
        #expect(texts.count == count, "lost or duplicated: \(texts)")
        #expect(texts == (1...count).reversed().map { "kill test \($0)" })
    }

    /// The server stopped and started again while `pg sync` drains a queue in batches: every
    /// batch whose answer was lost is replayed with its keys, nothing lost, doubled or reordered.
    @Test func aServerRestartedWhileBatchesGoOutLosesAndDuplicatesNothing() async throws {
        let folder = FileManager.default.temporaryDirectory.path + "/pg-restart-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let server = try await RestartableReferenceServer.launch(databasePath: folder + "/server.sqlite")
        defer { server.shutdown() }
        let profile = folder + "/alice"
        let base = ["--server", server.url.absoluteString, "--profile", profile]

        // Queued through the SDK on the profile (hundreds of `pg send` would take minutes).
        var configuration = ClientConfiguration(serverURL: server.url, profile: profile)
        configuration.retry.maximumAttempts = 1
        let alice = try await PlusGuidanceClient.open(configuration)
        _ = try await alice.signIn(email: "alice@example.com", password: "alice-pass")
        try await alice.syncNow()
        server.stop()
        let count = 400
        for i in 1...count { _ = try? await alice.send("restart test \(i)", to: "usr_therapist") }
        #expect(try await alice.outbox().count == count)
        await alice.close()

        try await server.start()
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<4 {
            let sync = try ChildProcess(try binary, base + ["sync"])
            try await Task.sleep(for: .milliseconds(Int.random(in: 20...300, using: &generator)))
            server.stop()
            try await server.start()
            await sync.exitStatus(within: .seconds(120))
        }
        try await syncUntilTheOutboxIsEmpty(base)

        let theo = PlusGuidanceAPI(baseURL: server.url, http: CurlHTTPClient())
        _ = try await theo.login(email: "therapist@example.com", password: "therapist-pass")
        let texts = try await theo.allTexts(with: "usr_alice")
        #expect(texts.count == count, "lost or duplicated: \(texts.count) texts")
        #expect(texts == (1...count).map { "restart test \($0)" })
    }
}
