import Foundation
@_spi(PlusGuidanceTools) import PlusGuidanceDomain
@_spi(PlusGuidanceTools) import PlusGuidanceNetworking
@_spi(PlusGuidanceTools) import PlusGuidancePersistence
@_spi(PlusGuidanceTools) import PlusGuidanceSync
import PlusGuidanceTesting
import Testing

/// The facade's observable reads, sync progress and sign-out, against the real `pg-server` on
/// loopback and real profiles on disk.
@Suite struct ClientObservationTests {
    typealias Folder = PlusGuidanceClientTests.Folder

    func open(_ server: ReferenceServerProcess, _ folder: Folder, name: String) async throws -> PlusGuidanceClient {
        try await open(server.url, folder, name: name)
    }

    func open(_ url: URL, _ folder: Folder, name: String) async throws -> PlusGuidanceClient {
        var configuration = ClientConfiguration(serverURL: url, profile: folder.path + "/" + name)
        configuration.retry.maximumAttempts = 1
        return try await PlusGuidanceClient.open(configuration)
    }

    func signedIn(_ server: ReferenceServerProcess, _ folder: Folder, name: String) async throws -> PlusGuidanceClient {
        try await signedIn(server.url, folder, name: name)
    }

    func signedIn(_ url: URL, _ folder: Folder, name: String) async throws -> PlusGuidanceClient {
        let client = try await open(url, folder, name: name)
        _ = try await client.signIn(email: "\(name)@example.com", password: "\(name)-pass")
        try await client.syncNow()
        return client
    }

    /// Reads `stream` until a value satisfies `condition`; fails after 120 s (a bound for a hang,
    /// never a speed check: the whole suite shares two cores).
    func value<T: Sendable>(
        of stream: AsyncThrowingStream<T, any Error>, sourceLocation: SourceLocation = #_sourceLocation,
        where condition: @escaping @Sendable (T) -> Bool
    ) async throws -> T {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                for try await value in stream where condition(value) { return value }
                return nil
            }
            group.addTask {
                try await Task.sleep(for: .seconds(120))
                throw TestFailure("no matching value in time (\(sourceLocation))")
            }
            defer { group.cancelAll() }
            guard let found = try await group.next() ?? nil else { throw TestFailure("the stream ended") }
            return found
        }
    }

    @Test func aMessageIsObservedPendingThenSentAndTheOtherSideSeesItLive() async throws {
        let server = try await ReferenceServerProcess.launch(arguments: [
            "--seed", "demo", "--test-clock", "--heartbeat", "0.5",
        ])
        defer { server.stop() }
        let proxy = try FaultInjectingProxy(upstreamPort: try #require(server.url.port))
        defer { proxy.stop() }
        let folder = Folder()
        let theo = try await signedIn(server, folder, name: "therapist")
        var configuration = ClientConfiguration(serverURL: proxy.url, profile: folder.path + "/alice")
        configuration.retry.maximumAttempts = 1
        let alice = try await PlusGuidanceClient.open(configuration)
        _ = try await alice.signIn(email: "alice@example.com", password: "alice-pass")
        try await alice.syncNow()
        try await theo.startLive()
        defer { Task { await theo.stopLive() } }
        let theoStatus = try await value(of: try await theo.observeStatus()) { $0.phase == .live }
        #expect(theoStatus.isOnline)

        let theirs = try await theo.observeMessages(with: "usr_alice")
        let mine = try await alice.observeMessages(with: "usr_therapist")
        let status = try await alice.observeStatus()
        #expect(try await value(of: mine) { _ in true }.isEmpty)

        proxy.refuseConnections(true)
        _ = try await alice.send("written offline", to: "usr_therapist")
        let pending = try await value(of: mine) { !$0.isEmpty }
        #expect(pending.map(\.deliveryState) == [.pending])
        _ = try await value(of: status) { $0.pendingOutbox == 1 && !$0.isOnline }

        proxy.refuseConnections(false)
        // Sync now means now: the backoff of the failed attempt does not delay it.
        try await alice.syncNow()
        let sent = try await value(of: mine) { $0.first?.deliveryState == .sent }
        #expect(sent.map(\.body) == ["written offline"])
        let synced = try await value(of: status) { $0.pendingOutbox == 0 && $0.phase == .idle }
        #expect(synced.lastSuccessfulSync != nil)
        // Live on the other side: no sync there.
        #expect(try await value(of: theirs) { !$0.isEmpty }.map(\.body) == ["written offline"])
    }

    @Test func theLiveStreamComesBackAfterADropAndAfterASilentStallMissingNothing() async throws {
        let server = try await ReferenceServerProcess.launch(arguments: [
            "--seed", "demo", "--test-clock", "--heartbeat", "0.3",
        ])
        defer { server.stop() }
        let proxy = try FaultInjectingProxy(upstreamPort: try #require(server.url.port))
        defer { proxy.stop() }
        let folder = Folder()
        var configuration = ClientConfiguration(serverURL: proxy.url, profile: folder.path + "/theo")
        configuration.retry.maximumAttempts = 1
        configuration.liveHeartbeatTimeout = 1.5
        let theo = try await PlusGuidanceClient.open(configuration)
        _ = try await theo.signIn(email: "therapist@example.com", password: "therapist-pass")
        try await theo.syncNow()
        let alice = PlusGuidanceAPI(baseURL: server.url, http: CurlHTTPClient())
        _ = try await alice.login(email: "alice@example.com", password: "alice-pass")
        func aliceSends(_ text: String) async throws {
            let message = try Message.text(
                id: MessageID(UUID().uuidString), from: "usr_alice", to: "usr_therapist",
                within: CareRelation(therapistID: "usr_therapist", clientID: "usr_alice"), body: text, at: Date())
            _ = try await alice.send(message, idempotencyKey: IdempotencyKey(UUID().uuidString))
        }

        try await theo.startLive()
        defer { Task { await theo.stopLive() } }
        let status = try await theo.observeStatus()
        let messages = try await theo.observeMessages(with: "usr_alice")
        _ = try await value(of: status) { $0.phase == .live }

        // Dropped: the connection is cut and refused for a while.
        proxy.refuseConnections(true)
        _ = try await value(of: status) { !$0.isOnline }
        try await aliceSends("during the drop")
        proxy.refuseConnections(false)
        #expect(try await value(of: messages) { !$0.isEmpty }.map(\.body) == ["during the drop"])
        _ = try await value(of: status) { $0.phase == .live && $0.liveReconnects >= 1 }

        // Stalled: the connection stays open but nothing comes through, not even heartbeats.
        proxy.stallConnections(true)
        let stalled = try await value(of: status) { !$0.isOnline }
        #expect(stalled.phase == .offline(reason: "event_stream_lost") || stalled.phase == .connecting)
        try await aliceSends("during the stall")
        proxy.stallConnections(false)
        let caughtUp = try await value(of: messages) { $0.count == 2 }
        #expect(caughtUp.map(\.body) == ["during the stall", "during the drop"])
        _ = try await value(of: status) { $0.phase == .live && $0.liveReconnects >= 2 }
    }

    @Test func observationsEndWhenTheAccountSignsOut() async throws {
        let server = try await ReferenceServerProcess.launch()
        defer { server.stop() }
        let folder = Folder()
        let alice = try await signedIn(server, folder, name: "alice")
        var offers = try await alice.observeOffers().makeAsyncIterator()
        #expect(try await offers.next() == [])
        let status = try await alice.observeStatus()
        let user = try await alice.observeCurrentUser()
        #expect(try await value(of: user) { _ in true }?.id == "usr_alice")
        try await alice.signOut()
        _ = try await value(of: user) { $0 == nil }  // throws unless sign-out is observed
        #expect(try await offers.next() == nil)
        #expect(try await value(of: status) { $0.phase == .signedOut }.pendingOutbox == 0)
        await #expect(throws: PlusGuidanceClientError(.notSignedIn)) { try await alice.observeContacts() }
    }

    @Test func syncProgressCountsTowardsTheTotalTheServerAnnounced() async throws {
        let server = try await ReferenceServerProcess.launch()
        defer { server.stop() }
        let api = PlusGuidanceAPI(baseURL: server.url, http: CurlHTTPClient())
        _ = try await api.login(email: "alice@example.com", password: "alice-pass")
        let pair = CareRelation(therapistID: "usr_therapist", clientID: "usr_alice")
        for i in 0..<1_200 {
            let message = try Message.text(
                id: MessageID("p\(i)"), from: "usr_alice", to: "usr_therapist", within: pair, body: "p\(i)", at: Date())
            _ = try await api.send(message, idempotencyKey: IdempotencyKey("p-\(i)"))
        }
        let folder = Folder()
        let theo = try await open(server, folder, name: "therapist")
        _ = try await theo.signIn(email: "therapist@example.com", password: "therapist-pass")
        let seen = Recorder<SyncProgress>()
        try await theo.syncNow { seen.append($0) }
        let reports = seen.values
        #expect(reports.count >= 1)
        let last = try #require(reports.last)
        #expect(last.total == last.changesApplied)
        #expect(last.changesApplied >= 1_200)
        #expect(last.fractionCompleted == 1)
        #expect(reports.allSatisfy { $0.total == last.total })
        #expect(zip(reports, reports.dropFirst()).allSatisfy { $0.changesApplied < $1.changesApplied })
    }

    @Test func signOutKeepsUndeliveredActionsForTheNextSignIn() async throws {
        let folder = Folder()
        try FileManager.default.createDirectory(atPath: folder.path, withIntermediateDirectories: true)
        let database = folder.path + "/server.sqlite"
        let server = try await RestartableReferenceServer.launch(databasePath: database)
        defer { server.shutdown() }
        let alice = try await signedIn(server.url, folder, name: "alice")
        server.stop()
        _ = try await alice.send("before signing out", to: "usr_therapist")
        try await alice.signOut()
        let account = folder.path + "/alice/accounts/usr_alice"
        #expect(FileManager.default.fileExists(atPath: account + "/outbox.sqlite"))
        #expect(!FileManager.default.fileExists(atPath: account + "/cache.sqlite"))
        #expect(!FileManager.default.fileExists(atPath: account + "/tokens"))

        try await server.start()
        _ = try await alice.signIn(email: "alice@example.com", password: "alice-pass")
        try await alice.syncNow()
        #expect(try await alice.outbox().isEmpty)
        let theo = try await signedIn(server.url, folder, name: "therapist")
        #expect(try await theo.messages(with: "usr_alice").map(\.body) == ["before signing out"])

        // Discarding on purpose removes every file.
        server.stop()
        _ = try await alice.send("never sent", to: "usr_therapist")
        try await alice.signOut(discardingOutbox: true)
        #expect(!FileManager.default.fileExists(atPath: account))
    }

    @Test func refusedTokensSignTheClientOutAndKeepItsOutbox() async throws {
        let server = try await ReferenceServerProcess.launch()
        defer { server.stop() }
        let folder = Folder()
        // Signed in and synced by an earlier run of the app (which has released the engine).
        _ = try await signedIn(server, folder, name: "alice").currentUser
        let account = folder.path + "/alice/accounts/usr_alice"
        // Tokens the server never issued, as after the server revoked the session.
        let forged = try JSONEncoder().encode(APITokens(accessToken: "forged", refreshToken: "forged"))
        try AccountStorage(profile: folder.path + "/alice", account: "usr_alice").writeSecret("tokens", forged)
        let reopened = try await open(server, folder, name: "alice")
        #expect(await reopened.currentUser?.id == "usr_alice")

        _ = try await reopened.send("queued before the refusal", to: "usr_therapist")
        #expect(try await reopened.status().phase == .signedOut)
        #expect(await reopened.currentUser == nil)
        #expect(!FileManager.default.fileExists(atPath: account + "/tokens"))
        await #expect(throws: PlusGuidanceClientError(.notSignedIn)) { try await reopened.syncNow() }

        _ = try await reopened.signIn(email: "alice@example.com", password: "alice-pass")
        #expect(try await reopened.outbox().count == 1)
        try await reopened.syncNow()
        #expect(try await reopened.outbox().isEmpty)
        #expect(try await reopened.messages(with: "usr_therapist").map(\.deliveryState) == [.sent])
    }

    @Test func anUpcomingSessionAppearsInTheObservationWithoutAnyRefresh() async throws {
        let server = try await ReferenceServerProcess.launch(arguments: [
            "--seed", "demo", "--test-clock", "--heartbeat", "0.5",
        ])
        defer { server.stop() }
        let folder = Folder()
        let theo = try await signedIn(server, folder, name: "therapist")
        let alice = try await signedIn(server, folder, name: "alice")
        try await alice.startLive()
        defer { Task { await alice.stopLive() } }
        let upcoming = try await alice.observeUpcomingSessions()
        let offers = try await alice.observeOffers()
        let contacts = try await theo.observeContacts()
        // Alice's live stream makes her online for the therapist (R2), seen through a sync.
        try await theo.syncNow()
        #expect(
            try await value(of: contacts) { $0.first { $0.id == "usr_alice" }?.presence.isOnline == true }.count == 2)

        let offer = try await theo.createOffer(
            to: "usr_alice", options: OfferOptions(type: .video, durationMinutes: 50, requiresConfirmation: false))
        let sessions = try await value(of: upcoming) { !$0.isEmpty }
        #expect(sessions.map(\.id) == [offer.sessionID].compactMap { $0 })
        #expect(try await value(of: offers) { !$0.isEmpty }.map(\.id) == [offer.id])

        let sessionID = try #require(offer.sessionID)
        try await theo.syncNow()
        let countdown = try await theo.observeCountdown(of: sessionID, every: .milliseconds(100))
        let first = try await value(of: countdown) { _ in true }
        let later = try await value(of: countdown) { $0.remainingSeconds < first.remainingSeconds }
        #expect(later.state == .inProgress)
        _ = try await theo.stop(sessionID)
        // Each throws unless the stop reaches the observation.
        _ = try await value(of: upcoming) { $0.isEmpty }
        let ended = try await value(of: countdown) { $0.state == .ended }
        // Stopped early (the test clock stands still): the countdown froze where Stop left it,
        // with no overtime.
        #expect((2_900...3_000).contains(ended.remainingSeconds), "\(ended)")
        #expect(ended.overtimeSeconds == 0)
    }
}

/// Collects values from a `@Sendable` callback.
final class Recorder<T: Sendable>: Sendable {
    private let lock = NSLock()
    private nonisolated(unsafe) var stored: [T] = []
    func append(_ value: T) { lock.withLock { stored.append(value) } }
    var values: [T] { lock.withLock { stored } }
}
