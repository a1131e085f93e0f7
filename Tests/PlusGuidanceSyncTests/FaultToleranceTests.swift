import Foundation
@_spi(PlusGuidanceTools) import PlusGuidanceDomain
@_spi(PlusGuidanceTools) import PlusGuidanceNetworking
@_spi(PlusGuidanceTools) import PlusGuidanceSync
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

/// The outbox drains in batches (`POST /v1/batch`) when more than one entry is due.
@Suite struct BatchedDrainTests {
    final class Counter: @unchecked Sendable {
        private let lock = NSLock()
        private var value = 0
        /// Adds one and returns the new count.
        func next() -> Int {
            lock.withLock {
                value += 1; return value
            }
        }
    }

    /// Alice signed in and synced through a ``HostileServer`` that then answers everything 503,
    /// so that what she sends waits in the outbox.
    struct Offline {
        let server: ReferenceServerProcess
        let hostile: HostileServer
        let alice: PlusGuidanceClient
        let profile = FileManager.default.temporaryDirectory.path + "/pg-batch-\(UUID().uuidString)"

        static let down = HostileServer.Behaviour.answer(
            status: 503, contentType: "application/problem+json", body: Data(#"{"code":"down"}"#.utf8))

        init() async throws {
            server = try await ReferenceServerProcess.launch()
            hostile = try HostileServer(upstream: server.url)
            var configuration = ClientConfiguration(serverURL: hostile.url, profile: profile)
            configuration.retry.maximumAttempts = 1
            alice = try await PlusGuidanceClient.open(configuration)
            _ = try await alice.signIn(email: "alice@example.com", password: "alice-pass")
            try await alice.syncNow()
            hostile.setRule { _ in Self.down }
        }

        /// The POST requests after the first `count` requests (those made while the server was
        /// down: each send re-attempts a queue whose backoff has ended).
        func posts(after count: Int) -> [String] {
            hostile.requests.dropFirst(count).filter { $0.hasPrefix("POST ") }
        }

        func stop() {
            hostile.stop()
            server.stop()
            try? FileManager.default.removeItem(atPath: profile)
        }
    }

    @Test func aQueuedOutboxGoesInBatchesInOrderAndALostBatchAnswerIsReplayedOnce() async throws {
        let offline = try await Offline()
        defer { offline.stop() }
        let (server, hostile, alice) = (offline.server, offline.hostile, offline.alice)
        let batches = Counter()
        let count = 230
        for i in 1...count { _ = try? await alice.send("batched \(i)", to: "usr_therapist") }
        #expect(try await alice.outbox().count == count)

        // Back, but the first batch's answer is cut after the server committed it.
        let whileDown = hostile.requests.count
        hostile.setRule { request in
            guard request.method == "POST", request.path == "/v1/batch" else { return .forward }
            return batches.next() == 1 ? .cutBody : .forward
        }
        let deadline = ContinuousClock.now + .seconds(120)
        while try await !alice.outbox().isEmpty, ContinuousClock.now < deadline { try? await alice.syncNow() }
        #expect(try await alice.outbox().isEmpty)

        let sent = offline.posts(after: whileDown)
        // 230 texts in batches of 100, the cut one replayed: a handful of requests, not 230.
        #expect(sent.filter { $0.hasPrefix("POST /v1/batch") }.count == 4)
        #expect(!sent.contains { $0.contains("/messages") })

        let theo = PlusGuidanceAPI(baseURL: server.url, http: CurlHTTPClient())
        _ = try await theo.login(email: "therapist@example.com", password: "therapist-pass")
        #expect(try await theo.allTexts(with: "usr_alice") == (1...count).map { "batched \($0)" })
        #expect(try await alice.messages(with: "usr_therapist", limit: 500).allSatisfy { $0.deliveryState == .sent })
    }
}

extension BatchedDrainTests {
    @Test func aServerWithoutBatchesGetsSingleRequests() async throws {
        let offline = try await Offline()
        defer { offline.stop() }
        let (hostile, alice) = (offline.hostile, offline.alice)
        for i in 1...5 { _ = try? await alice.send("one by one \(i)", to: "usr_therapist") }
        // An older server: the batch endpoint does not exist.
        let whileDown = hostile.requests.count
        hostile.setRule { request in
            request.path == "/v1/batch"
                ? .answer(
                    status: 404, contentType: "application/problem+json",
                    body: Data(
                        #"{"type":"about:blank","title":"No such endpoint","status":404,"code":"no_such_endpoint"}"#
                            .utf8))
                : .forward
        }
        try await alice.syncNow()
        #expect(try await alice.outbox().isEmpty)
        let posts = offline.posts(after: whileDown)
        #expect(posts.filter { $0.hasPrefix("POST /v1/batch") }.count == 1)
        #expect(posts.filter { $0.hasSuffix("/messages") }.count == 5)
        let texts = try await alice.messages(with: "usr_therapist", limit: 20).filter { $0.kind == .text }
        #expect(texts.map(\.body) == (1...5).reversed().map { "one by one \($0)" })
        #expect(texts.allSatisfy { $0.deliveryState == .sent })
    }
}
