import Foundation
@_spi(PlusGuidanceTools) import PlusGuidanceDomain
@_spi(PlusGuidanceTools) import PlusGuidanceNetworking
@_spi(PlusGuidanceTools) import PlusGuidanceSync
import PlusGuidanceTesting
import Testing

/// The facade against the real `pg-server` binary on loopback, with real profiles on disk.
@Suite struct PlusGuidanceClientTests {
    final class Folder: Sendable {
        let path = FileManager.default.temporaryDirectory.path + "/pg-sync-\(UUID().uuidString)"
        deinit { try? FileManager.default.removeItem(atPath: path) }
    }

    func client(_ server: ReferenceServerProcess, _ profile: Folder, name: String) async throws -> PlusGuidanceClient {
        try await client(server.url, profile, name: name)
    }

    func client(_ url: URL, _ profile: Folder, name: String) async throws -> PlusGuidanceClient {
        var configuration = ClientConfiguration(serverURL: url, profile: profile.path + "/" + name)
        configuration.retry.maximumAttempts = 1
        let client = try await PlusGuidanceClient.open(configuration)
        _ = try await client.signIn(email: "\(name)@example.com", password: "\(name)-pass")
        try await client.syncNow()
        return client
    }

    /// A folder for profiles, and a server that can be stopped and started with its database in it.
    func restartableServer() async throws -> (Folder, RestartableReferenceServer) {
        let folder = Folder()
        try FileManager.default.createDirectory(atPath: folder.path, withIntermediateDirectories: true)
        return (folder, try await RestartableReferenceServer.launch(databasePath: folder.path + "/server.sqlite"))
    }

    func eventually(_ condition: @Sendable () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(120)
        while try await !condition() {
            guard ContinuousClock.now < deadline else { throw TestFailure("condition not met in time") }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    @Test func textsWrittenOfflineAreDeliveredOnceAndInOrderWhenBackOnline() async throws {
        let folder = Folder()
        try FileManager.default.createDirectory(atPath: folder.path, withIntermediateDirectories: true)
        let database = folder.path + "/server.sqlite"
        let server = try await RestartableReferenceServer.launch(databasePath: database)
        defer { server.shutdown() }
        let alice = try await client(server.url, folder, name: "alice")
        server.stop()

        for i in 1...5 {
            // The answer says what is known: queued (the server is unreachable), still pending.
            let sent = try await alice.send("offline \(i)", to: "usr_therapist")
            #expect(sent.message?.deliveryState == .pending)
            guard case .queued = sent.knownOutcome else {
                Issue.record("offline \(i): \(sent)")
                continue
            }
        }
        let queued = try await alice.messages(with: "usr_therapist")
        #expect(queued.map(\.body) == (1...5).reversed().map { "offline \($0)" })
        #expect(queued.allSatisfy { $0.deliveryState == .pending })
        await #expect(throws: PlusGuidanceAPIError.self) { try await alice.syncNow() }
        #expect(try await alice.status().pendingOutbox == 5)
        #expect(try await alice.status().isOnline == false)

        try await server.start()
        // Backoffs from the failed attempts are honoured; sync until the outbox is empty.
        try await eventually {
            try? await alice.syncNow()
            return try await alice.outbox().isEmpty
        }
        // Online, this process delivers it before send returns: the answer says so.
        let online = try await alice.send("online", to: "usr_therapist")
        #expect(online.knownOutcome == .delivered)
        #expect(online.message?.deliveryState == .sent)
        let theo = try await client(server.url, folder, name: "therapist")
        let delivered = try await theo.messages(with: "usr_alice").filter { $0.kind == .text && $0.body != "online" }
        #expect(delivered.map(\.body) == (1...5).reversed().map { "offline \($0)" })
        #expect(try await alice.messages(with: "usr_therapist").allSatisfy { $0.deliveryState == .sent })
    }

    @Test func theInstantSessionFlowThroughTwoClients() async throws {
        let server = try await ReferenceServerProcess.launch()
        defer { server.stop() }
        let folder = Folder()
        let theo = try await client(server, folder, name: "therapist")
        let alice = try await client(server, folder, name: "alice")

        let offer = try await theo.createOffer(
            to: "usr_alice", options: OfferOptions(type: .video, durationMinutes: 50))
        #expect(offer.state == .pending)
        try await alice.syncNow()
        #expect(try await alice.offers().map(\.id) == [offer.id])
        #expect(try await alice.messages(with: "usr_therapist").first?.kind == .sessionOffer)

        _ = try await alice.accept(offer.id)
        #expect(try await alice.outbox().isEmpty)
        try await theo.syncNow()
        let sessions = try await theo.upcomingSessions()
        #expect(sessions.count == 1)
        let session = try #require(sessions.first)
        let countdown = await theo.countdown(for: session)
        #expect(countdown.state == .inProgress)
        // The test clock stands still while this machine's runs on, so the estimate is a little ahead.
        #expect((2_980...3_000).contains(countdown.remainingSeconds))
        #expect(try await theo.messages(with: "usr_alice").prefix(2).map(\.kind) == [.sessionLink, .sessionReady])

        _ = try await theo.stop(session.id)
        try await alice.syncNow()
        #expect(try await alice.upcomingSessions().isEmpty)
    }

    /// Older pages arrive until the history is complete, in order, each message once (asking
    /// the cache for every message to find the oldest reserved Int.max rows and trapped).
    @Test func olderPagesFillTheConversationToItsStart() async throws {
        let (folder, server) = try await restartableServer()
        defer { server.shutdown() }
        let theo = try await client(server.url, folder, name: "therapist")
        for n in 0..<120 { _ = try await theo.send("text \(n)", to: "usr_alice") }
        let alice = try await client(server.url, folder, name: "alice")
        var loaded = 0
        while case let page = try await alice.loadOlderMessages(with: "usr_therapist", limit: 50), page > 0 {
            loaded += page
        }
        let bodies = try await alice.messages(with: "usr_therapist", limit: 1_000).reversed().map(\.body)
        #expect(bodies == (0..<120).map { "text \($0)" })
        #expect(loaded <= 120)
    }

    /// A client that only syncs lets go of the engine once the sync is done: another client of
    /// the profile (an app on the C library beside `pg-syncd`, another app) is not starved, and
    /// delivers what it queues itself. Holding it until `close()` left such texts queued.
    @Test func aClientThatOnlySyncsLetsGoOfTheEngine() async throws {
        let (folder, server) = try await restartableServer()
        defer { server.shutdown() }
        let first = try await client(server.url, folder, name: "alice")
        try await first.syncNow()
        let second = try await PlusGuidanceClient.open(
            ClientConfiguration(serverURL: server.url, profile: folder.path + "/alice"))
        // Beside an engine, this would name this process (see the next test).
        #expect(try await second.status().engineProcess == nil)
        let sent = try await second.send("hello", to: "usr_therapist")
        #expect(try await sent.outcome(waitingUpTo: .seconds(10)) == .delivered)
        #expect(try await second.status().engineProcess == nil)
        await first.close()
        await second.close()
    }

    /// A client that does not run the engine reports the connection of the one that does (as
    /// `pg status` beside `pg-syncd`), without having tried to take it, and nothing once it lets go.
    @Test func aClientBesideTheEngineReportsTheEnginesConnection() async throws {
        let (folder, server) = try await restartableServer()
        defer { server.shutdown() }
        let engine = try await client(server.url, folder, name: "alice")
        // Live, as pg-syncd: a client that only syncs lets go of the engine after each sync.
        try await engine.startLive()
        for _ in 0..<200 where try await engine.status().phase != .live { try await Task.sleep(for: .milliseconds(50)) }
        var configuration = ClientConfiguration(serverURL: server.url, profile: folder.path + "/alice")
        configuration.retry.maximumAttempts = 1
        let beside = try await PlusGuidanceClient.open(configuration)

        let up = try await beside.status()
        #expect(up.engineProcess == getpid())
        #expect(up.phase == .live && up.isOnline)

        server.stop()
        await #expect(throws: PlusGuidanceAPIError.self) { try await engine.syncNow() }
        let down = try await beside.status()
        #expect(down.engineProcess == getpid())
        #expect(!down.isOnline)
        // The engine's own reason (`cannot_connect`, or `connection_lost` on a kept-alive connection).
        if case .offline(let reason) = down.phase {
            #expect(["cannot_connect", "connection_lost"].contains(reason))
        } else {
            Issue.record("the engine's phase was not published: \(down.phase)")
        }

        await engine.close()
        let alone = try await beside.status()
        #expect(alone.engineProcess == nil)
        #expect(!alone.isRunByAnotherProcess)
    }

    /// `accountEnded()` (what `pg-syncd` waits on instead of a timer) returns when the account
    /// signs out, and at once when nobody is signed in.
    @Test func accountEndedReturnsWhenTheAccountSignsOut() async throws {
        let server = try await ReferenceServerProcess.launch()
        defer { server.stop() }
        let folder = Folder()
        let alice = try await client(server, folder, name: "alice")
        let ended = Counter()
        let waiting = Task {
            await alice.accountEnded()
            await ended.increment()
        }
        // Still waiting while signed in.
        try await Task.sleep(for: .milliseconds(300))
        #expect(await ended.value == 0)
        try await alice.signOut()
        await waiting.value
        #expect(await ended.value == 1)
        #expect(await alice.currentUser == nil)
        // Signed out: returns at once.
        await alice.accountEnded()
    }

    @Test func creatingAnOfferOfflineFailsAtOnceAndQueuesNothing() async throws {
        let server = try await RestartableReferenceServer.launch()
        defer { server.shutdown() }
        let folder = Folder()
        let theo = try await client(server.url, folder, name: "therapist")
        server.stop()
        do {
            _ = try await theo.createOffer(to: "usr_alice", options: OfferOptions(type: .voice, durationMinutes: 30))
            Issue.record("an offer was created offline")
        } catch let error as PlusGuidanceClientError {
            #expect(error.code == .offline)
        }
        #expect(try await theo.outbox().isEmpty)
        // Invalid options are refused before the network.
        await #expect(throws: DomainError.invalidDuration) {
            _ = try await theo.createOffer(to: "usr_alice", options: OfferOptions(type: .voice, durationMinutes: 1))
        }
    }

    @Test func anAcceptAfterExpiryIsShownAsExpiredAndStaysVisible() async throws {
        let server = try await ReferenceServerProcess.launch()
        defer { server.stop() }
        let folder = Folder()
        let theo = try await client(server, folder, name: "therapist")
        let alice = try await client(server, folder, name: "alice")
        let offer = try await theo.createOffer(to: "usr_alice", options: OfferOptions(type: .chat, durationMinutes: 30))
        try await alice.syncNow()
        try await TestClock.advance(server.url, by: 3_601)

        let entry = try await alice.accept(offer.id)
        #expect(entry.knownOutcome.flatMap(\.refusal)?.code == "offer_expired")
        #expect(try await entry.outcome(waitingUpTo: .seconds(1)).refusal?.code == "offer_expired")
        try await alice.syncNow()
        #expect(try await alice.offers().first?.state == .expired)
        #expect(try await alice.status().failedOutbox == 1)
        // A retry answers like the first attempt: the deadline still holds.
        let retried = try await alice.retry(entry.id)
        #expect(retried.id == entry.id)
        #expect(retried.knownOutcome.flatMap(\.refusal)?.code == "offer_expired")
        try await alice.discard(entry.id)
        #expect(try await alice.outbox().isEmpty)
    }

    @Test func aLiveClientSeesNewMessagesWithoutSyncing() async throws {
        let server = try await ReferenceServerProcess.launch(arguments: [
            "--seed", "demo", "--test-clock", "--heartbeat", "0.5",
        ])
        defer { server.stop() }
        let folder = Folder()
        let theo = try await client(server, folder, name: "therapist")
        let alice = try await client(server, folder, name: "alice")
        try await theo.startLive()
        try await eventually { if case .live = try await theo.status().phase { true } else { false } }
        _ = try await alice.send("are you there?", to: "usr_therapist")
        try await eventually { try await theo.messages(with: "usr_alice").first?.body == "are you there?" }
        await theo.stopLive()
    }

    @Test func aCursorTheServerNoLongerKnowsTriggersAFullResync() async throws {
        let folder = Folder()
        let server = try await RestartableReferenceServer.launch()
        defer { server.shutdown() }
        let alice = try await client(server.url, folder, name: "alice")
        _ = try await alice.send("on the old server", to: "usr_therapist")
        try await alice.syncNow()
        // A new, empty server at the same address: the saved cursor means nothing to it.
        try await server.start(freshDatabase: true)
        _ = try await alice.signIn(email: "alice@example.com", password: "alice-pass")
        try await alice.syncNow()
        #expect(try await alice.messages(with: "usr_therapist").isEmpty)
        #expect(try await alice.contacts().map(\.user.email) == ["therapist@example.com"])
    }

    @Test func aLocalClockHoursOffStillShowsServerTime() async throws {
        let server = try await ReferenceServerProcess.launch()
        defer { server.stop() }
        let folder = Folder()
        let theo = try await client(server, folder, name: "therapist")
        let alice = try await client(server, folder, name: "alice")
        _ = alice
        // A therapist whose machine is five hours behind.
        var configuration = ClientConfiguration(serverURL: server.url, profile: folder.path + "/skewed")
        configuration.retry.maximumAttempts = 1
        configuration.localClock = OffsetWallClock(base: SystemWallClock(), offset: -5 * 3_600)
        let skewed = try await PlusGuidanceClient.open(configuration)
        _ = try await skewed.signIn(email: "therapist@example.com", password: "therapist-pass")
        try await skewed.syncNow()
        let offer = try await theo.createOffer(
            to: "usr_alice", options: OfferOptions(type: .voice, durationMinutes: 30, requiresConfirmation: false))
        try await skewed.syncNow()
        let sessionID = try #require(offer.sessionID)
        let session = try #require(try await skewed.session(sessionID))
        let countdown = await skewed.countdown(for: session)
        #expect(countdown.state == .inProgress)
        #expect((1_780...1_800).contains(countdown.remainingSeconds), "\(countdown)")
        // Left alone, the skewed local clock would put the session five hours in the future.
        #expect(session.countdown(at: configuration.localClock.now()).state == .scheduled)
    }

    /// A client that has measured the server's clock many times, without a live stream (an app
    /// that syncs now and then): the server's clock steps an hour, and the next sync alone puts
    /// its countdowns right (R12), where a median of old samples would have waited for five new
    /// ones.
    @Test func oneSyncAfterAStepOfTheServersClockPutsTheCountdownRight() async throws {
        let server = try await ReferenceServerProcess.launch()
        defer { server.stop() }
        let folder = Folder()
        let theo = try await client(server, folder, name: "therapist")
        let alice = try await client(server, folder, name: "alice")
        for _ in 0..<5 { try await alice.syncNow() }
        let before = try #require(await alice.knownServerTime())

        let measured = ContinuousClock.now

        try await TestClock.advance(server.url, by: 3_600)
        try await alice.syncNow()
        let after = try #require(await alice.knownServerTime())
        let elapsed = (ContinuousClock.now - measured).timeInterval
        #expect(abs(after.timeIntervalSince(before) - 3_600 - elapsed) < 1, "\(before) → \(after)")

        let offer = try await theo.createOffer(
            to: "usr_alice", options: OfferOptions(type: .voice, durationMinutes: 30, requiresConfirmation: false))
        try await alice.syncNow()
        // From the cache, with no further request.
        let sessionID = try #require(offer.sessionID)
        let session = try #require(try await alice.upcomingSessions().first { $0.id == sessionID })
        let countdown = await alice.countdown(for: session)
        #expect(countdown.state == .inProgress, "\(countdown)")
        #expect((1_740...1_800).contains(countdown.remainingSeconds), "\(countdown)")
    }

    /// After a reboot (another boot id) and before any answer, the server's time is unknown:
    /// said (`knownServerTime()` is nil), not guessed. An accept the device's own (wrong) clock
    /// would call late is queued for the server to decide, and nothing in the outbox is judged
    /// on a guess.
    @Test func afterARebootNothingIsRefusedOnAGuessOfTheServersTime() async throws {
        let server = try await ReferenceServerProcess.launch()
        defer { server.stop() }
        let folder = Folder()
        let theo = try await client(server, folder, name: "therapist")
        var configuration = ClientConfiguration(serverURL: server.url, profile: folder.path + "/alice")
        configuration.retry.maximumAttempts = 1
        configuration.elapsedClock = ManualWallClock(Date(timeIntervalSinceReferenceDate: 100))
        let alice = try await PlusGuidanceClient.open(configuration)
        _ = try await alice.signIn(email: "alice@example.com", password: "alice-pass")
        let offer = try await theo.createOffer(
            to: "usr_alice", options: OfferOptions(type: .video, durationMinutes: 30))
        try await alice.syncNow()
        #expect(await alice.knownServerTime() != nil)
        await alice.close()

        // The device restarts offline, its calendar clock two hours ahead (no NTP yet).
        configuration.elapsedClock = ManualWallClock(Date(timeIntervalSinceReferenceDate: 5))
        configuration.serverURL = URL(string: "http://127.0.0.1:1")!
        configuration.localClock = OffsetWallClock(base: SystemWallClock(), offset: 2 * 3_600)
        let rebooted = try await PlusGuidanceClient.open(configuration)
        defer { Task { await rebooted.close() } }
        #expect(await rebooted.knownServerTime() == nil)
        let entry = try await rebooted.accept(offer.id)
        #expect(entry.knownOutcome.flatMap(\.refusal) == nil)
        #expect(try await rebooted.outbox().map(\.state) == [.pending])
        #expect(try await rebooted.status().failedOutbox == 0)
    }

    @Test func aServerStoppedMidSyncLosesNothingOnceItIsBack() async throws {
        let folder = Folder()
        try FileManager.default.createDirectory(atPath: folder.path, withIntermediateDirectories: true)
        let database = folder.path + "/server.sqlite"
        let server = try await RestartableReferenceServer.launch(databasePath: database)
        defer { server.shutdown() }
        // 2,500 messages: five feed pages for the therapist.
        let alice = PlusGuidanceAPI(baseURL: server.url, http: CurlHTTPClient())
        _ = try await alice.login(email: "alice@example.com", password: "alice-pass")
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<4 {
                group.addTask {
                    for i in stride(from: worker, to: 2_500, by: 4) {
                        let message = try Message.text(
                            id: MessageID("bulk\(i)"), from: "usr_alice", to: "usr_therapist",
                            within: CareRelation(therapistID: "usr_therapist", clientID: "usr_alice"),
                            body: "bulk \(i)", at: Date())
                        _ = try await alice.send(message, idempotencyKey: IdempotencyKey("bulk-\(i)"))
                    }
                }
            }
            try await group.waitForAll()
        }
        var configuration = ClientConfiguration(serverURL: server.url, profile: folder.path + "/theo")
        configuration.retry.maximumAttempts = 1
        let theo = try await PlusGuidanceClient.open(configuration)
        _ = try await theo.signIn(email: "therapist@example.com", password: "therapist-pass")
        let sync = Task { try await theo.syncNow() }
        try await Task.sleep(for: .milliseconds(150))
        server.stop()
        _ = await sync.result  // finished, or failed as unreachable: either way nothing half-applied
        try await server.start()
        try await theo.syncNow()
        let messages = try await theo.messages(with: "usr_alice", limit: 5_000)
        #expect(messages.count == 2_500)
        #expect(Set(messages.map(\.id)).count == 2_500)
    }

    @Test func signInStoresTokensPrivatelyAndSignOutRemovesTheAccount() async throws {
        let server = try await ReferenceServerProcess.launch()
        defer { server.stop() }
        let folder = Folder()
        let alice = try await client(server, folder, name: "alice")
        let accountFolder = folder.path + "/alice/accounts/usr_alice"
        let attributes = try FileManager.default.attributesOfItem(atPath: accountFolder + "/tokens")
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        // Sealed: no token, not even the JSON around it, is in the file.
        let sealed = try #require(FileManager.default.contents(atPath: accountFolder + "/tokens"))
        #expect(!String(decoding: sealed, as: UTF8.self).contains("Token"))
        #expect(!String(decoding: sealed, as: UTF8.self).contains("pgr_"))
        // A new process on the same profile is still signed in.
        var configuration = ClientConfiguration(serverURL: server.url, profile: folder.path + "/alice")
        configuration.retry.maximumAttempts = 1
        let again = try await PlusGuidanceClient.open(configuration)
        #expect(await again.currentUser?.email == "alice@example.com")
        try await alice.signOut()
        #expect(!FileManager.default.fileExists(atPath: accountFolder))
        #expect(await alice.currentUser == nil)
    }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
