import Foundation
import PlusGuidanceDomain
import PlusGuidanceNetworking
import PlusGuidanceSync
import PlusGuidanceTesting
import Testing

/// Alice signed in and synced, reaching `pg-server` through a ``FaultInjectingProxy``.
struct AliceBehindAProxy {
    let server: ReferenceServerProcess
    let proxy: FaultInjectingProxy
    let profile = FileManager.default.temporaryDirectory.path + "/pg-fault-\(UUID().uuidString)"
    let alice: PlusGuidanceClient

    init() async throws {
        server = try await ReferenceServerProcess.launch()
        proxy = try FaultInjectingProxy(upstreamPort: try #require(server.url.port))
        var configuration = ClientConfiguration(serverURL: proxy.url, profile: profile)
        configuration.retry.maximumAttempts = 1
        alice = try await PlusGuidanceClient.open(configuration)
        _ = try await alice.signIn(email: "alice@example.com", password: "alice-pass")
        try await alice.syncNow()
    }

    func stop() {
        proxy.stop()
        server.stop()
        try? FileManager.default.removeItem(atPath: profile)
    }
}

/// What happens when answers are lost after the server committed (R8: exactly once).
@Suite struct FaultToleranceTests {
    @Test func aLostAnswerIsResolvedByReplayingTheSameKeyNeverByGuessing() async throws {
        let setup = try await AliceBehindAProxy()
        defer { setup.stop() }
        let (server, proxy, alice) = (setup.server, setup.proxy, setup.alice)

        for i in 1...3 {
            proxy.dropNextAnswers(1)
            _ = try await alice.send("exactly once \(i)", to: "usr_therapist")
        }
        // Later attempts replay the keys: the server answers with what it stored the first time.
        let deadline = ContinuousClock.now + .seconds(120)
        while try await !alice.outbox().isEmpty, ContinuousClock.now < deadline {
            try? await alice.syncNow()
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(try await alice.outbox().isEmpty)
        // Every drop happened (each to an answer the server had already stored).
        #expect(proxy.droppedAnswers == 3)

        let theo = PlusGuidanceAPI(baseURL: server.url, http: CurlHTTPClient())
        _ = try await theo.login(email: "therapist@example.com", password: "therapist-pass")
        let texts = try await theo.messages(with: "usr_alice").messages.filter { $0.kind == .text }.map(\.body)
        #expect(texts == ["exactly once 3", "exactly once 2", "exactly once 1"])
        #expect(try await alice.messages(with: "usr_therapist").allSatisfy { $0.deliveryState == .sent })
    }

    @Test func aDeliveryCancelledInFlightGoesBackToTheQueueAndIsSentOnce() async throws {
        let setup = try await AliceBehindAProxy()
        defer { setup.stop() }
        let (server, proxy, alice) = (setup.server, setup.proxy, setup.alice)

        // The request goes out and hangs: the proxy holds it.
        proxy.stallConnections(true)
        let sending = Task { try await alice.send("held in the network", to: "usr_therapist") }
        let deadline = ContinuousClock.now + .seconds(120)
        while try await alice.outbox().first?.state != .inFlight, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(try await alice.outbox().first?.state == .inFlight)
        sending.cancel()
        _ = await sending.result
        // Not stuck in flight: queued again, with its key, for this process to retry.
        let entry = try #require(try await alice.outbox().first)
        #expect(entry.state == .pending)
        #expect(entry.attempts == 1)

        // The held request now reaches the server too; the replay must not make a second message.
        proxy.stallConnections(false)
        try await alice.syncNow()
        #expect(try await alice.outbox().isEmpty)
        let theo = PlusGuidanceAPI(baseURL: server.url, http: CurlHTTPClient())
        _ = try await theo.login(email: "therapist@example.com", password: "therapist-pass")
        let texts = try await theo.messages(with: "usr_alice").messages.filter { $0.kind == .text }.map(\.body)
        #expect(texts == ["held in the network"])
    }
}
