import Foundation
@_spi(PlusGuidanceTools) import PlusGuidanceDomain
@_spi(PlusGuidanceTools) import PlusGuidanceNetworking
import PlusGuidanceTesting
import Testing

/// The typed API client against the real `pg-server` binary on loopback.
@Suite struct PlusGuidanceAPITests {
    let http = CurlHTTPClient()

    func withServer(_ body: (ReferenceServerProcess) async throws -> Void) async throws {
        let server = try await ReferenceServerProcess.launch(
            arguments: ["--seed", "demo", "--test-clock", "--heartbeat", "0.2"])
        defer { server.stop() }
        try await body(server)
    }

    func signedIn(
        _ name: String, on server: ReferenceServerProcess,
        onTokens: @escaping @Sendable (APITokens?) async throws -> Void = { _ in }
    )
        async throws -> PlusGuidanceAPI
    {
        let api = PlusGuidanceAPI(baseURL: server.url, http: http, onTokensChanged: onTokens)
        _ = try await api.login(email: "\(name)@example.com", password: "\(name)-pass")
        return api
    }

    func refusal(_ body: () async throws -> Void) async -> PlusGuidanceAPIError? {
        do {
            try await body()
            return nil
        } catch {
            return error as? PlusGuidanceAPIError
        }
    }

    @Test func signingInWithAWrongPasswordIsBadCredentials() async throws {
        try await withServer { server in
            let api = PlusGuidanceAPI(baseURL: server.url, http: http)
            #expect(
                await refusal { _ = try await api.login(email: "alice@example.com", password: "wrong") }
                    == .badCredentials)
            #expect(await api.isSignedIn == false)
            #expect(await refusal { _ = try await api.me() } == .signedOut)
        }
    }

    @Test func theWholeOfferFlowInDomainValues() async throws {
        try await withServer { server in
            let theo = try await signedIn("therapist", on: server)
            let alice = try await signedIn("alice", on: server)
            let contacts = try await theo.contacts()
            #expect(contacts.map(\.user.email) == ["alice@example.com", "bob@example.com"])
            #expect(contacts.first?.presence.isOnline == true)

            let offer = try await theo.createOffer(
                to: "usr_alice", options: OfferOptions(type: .voice, durationMinutes: 30), idempotencyKey: "offer-1")
            #expect(offer.state == .pending)
            let (accepted, session) = try await alice.accept(offer.id, idempotencyKey: "accept-1")
            #expect(accepted.state == .accepted)
            #expect(session?.id == accepted.sessionID)
            #expect(try await theo.upcomingSessions().map(\.id) == [try #require(session?.id)])
            let page = try await alice.messages(with: "usr_therapist")
            #expect(page.messages.map(\.kind) == [.sessionLink, .sessionReady, .sessionOffer])
            #expect(page.hasMore == false)
            let stopped = try await theo.stop(try #require(session?.id), idempotencyKey: "stop-1")
            #expect(stopped.state(at: .distantFuture) == .ended)
        }
    }

    @Test func refusalsComeBackAsTheDomainErrors() async throws {
        try await withServer { server in
            let theo = try await signedIn("therapist", on: server)
            let alice = try await signedIn("alice", on: server)
            let offline = await refusal {
                _ = try await theo.createOffer(
                    to: "usr_bob", options: OfferOptions(type: .video, durationMinutes: 50), idempotencyKey: "o1")
            }
            #expect(offline == .rejected(.clientOffline))
            #expect(offline?.status == 409)
            let offer = try await theo.createOffer(
                to: "usr_alice", options: OfferOptions(type: .video, durationMinutes: 50, requiresConfirmation: false),
                idempotencyKey: "o2")
            #expect(
                await refusal { _ = try await alice.accept(offer.id, idempotencyKey: "a1") }
                    == .rejected(.offerAlreadyAnswered))
            #expect(await refusal { _ = try await alice.session("ses_nope") } == .rejected(.notFound))
        }
    }

    @Test func aRetriedSendWithTheSameKeyDeliversOnce() async throws {
        try await withServer { server in
            let alice = try await signedIn("alice", on: server)
            let message = try Message.text(
                id: "msg_usr_alice.offline-1", from: "usr_alice", to: "usr_therapist",
                within: CareRelation(therapistID: "usr_therapist", clientID: "usr_alice"), body: "Written offline",
                at: Date(), deliveryState: .pending)
            let first = try await alice.send(message, idempotencyKey: "k-offline-1")
            let again = try await alice.send(message, idempotencyKey: "k-offline-1")
            #expect(first == again)
            #expect(first.id == "msg_usr_alice.offline-1")
            #expect(try await alice.messages(with: "usr_therapist").messages.count == 1)
        }
    }

    @Test func theFeedPagesToTheEndAndAnUnknownCursorAsksForAResync() async throws {
        try await withServer { server in
            let alice = try await signedIn("alice", on: server)
            for i in 0..<25 {
                let message = try Message.text(
                    id: MessageID("m\(i)"), from: "usr_alice", to: "usr_therapist",
                    within: CareRelation(therapistID: "usr_therapist", clientID: "usr_alice"), body: "n\(i)", at: Date()
                )
                _ = try await alice.send(message, idempotencyKey: IdempotencyKey("k\(i)"))
            }
            var cursor: FeedCursor?
            var messages: [MessageID] = []
            var pages = 0
            repeat {
                let page = try await alice.changes(after: cursor, limit: 10)
                messages += page.changes.compactMap { if case .message(let m) = $0 { m.id } else { nil } }
                cursor = page.cursor
                pages += 1
                if !page.hasMore { break }
            } while true
            #expect(messages.count == 25)
            #expect(pages == 3)
            #expect(await refusal { _ = try await alice.changes(after: FeedCursor("c999999")) } == .cursorTooOld)
        }
    }

    @Test func theEventStreamDeliversChangesHeartbeatsAndCursors() async throws {
        try await withServer { server in
            let theo = try await signedIn("therapist", on: server)
            let alice = try await signedIn("alice", on: server)
            let events = try await theo.events(after: nil)
            let message = try Message.text(
                id: "msg_usr_alice.live", from: "usr_alice", to: "usr_therapist",
                within: CareRelation(therapistID: "usr_therapist", clientID: "usr_alice"), body: "live", at: Date())
            _ = try await alice.send(message, idempotencyKey: "live-1")
            var sawHeartbeat = false
            var received: (Message, FeedCursor)?
            for try await event in events {
                switch event {
                case .heartbeat: sawHeartbeat = true
                case .change(.message(let m), let cursor): received = (m, cursor)
                default: break
                }
                if sawHeartbeat, received != nil { break }
            }
            #expect(received?.0.body == "live")
            #expect(received?.1.rawValue.hasPrefix("c") == true)
        }
    }

    @Test func anExpiredTokenIsRefreshedOnceForManyConcurrentCalls() async throws {
        try await withServer { server in
            let saved = TokenLog()
            let alice = try await signedIn("alice", on: server) { await saved.record($0) }
            #expect(await saved.count == 1)
            try await TestClock.advance(server.url, by: 901)
            let users = try await withThrowingTaskGroup(of: User.self) { group in
                for _ in 0..<10 { group.addTask { try await alice.me() } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(users.count == 10)
            #expect(users.allSatisfy { $0.email == "alice@example.com" })
            // One refresh, persisted before use.
            #expect(await saved.count == 2)
            #expect(await saved.last != nil)
        }
    }

    @Test func aRefreshThatFailsSignsOut() async throws {
        try await withServer { server in
            let saved = TokenLog()
            let alice = PlusGuidanceAPI(
                baseURL: server.url, http: http,
                tokens: APITokens(accessToken: "pga_stale", refreshToken: "pgr_revoked"),
                onTokensChanged: { await saved.record($0) })
            #expect(await refusal { _ = try await alice.me() } == .signedOut)
            #expect(await alice.isSignedIn == false)
            #expect(await saved.count == 1)
            #expect(await saved.last == .some(nil))
        }
    }

    @Test func theServerTimeIsEstimatedFromItsAnswers() async throws {
        try await withServer { server in
            let alice = try await signedIn("alice", on: server)
            _ = try await alice.me()
            // The test clock starts at 1,800,000,000 (2027-01-15) and runs with real time from
            // when the server launched.
            let estimate = try #require(await alice.serverTimeEstimate)
            let serverNow = try #require(estimate.serverNow(on: SystemElapsedClock()))
            let sinceStart = serverNow.timeIntervalSince1970 - 1_800_000_000
            #expect(sinceStart > -1 && sinceStart < 900)
            #expect(estimate.bootID == SystemElapsedClock().bootID)
        }
    }

    @Test func anUnreachableServerIsUnreachable() async throws {
        let closed = try ClosedPort()
        defer { withExtendedLifetime(closed) {} }
        let port = closed.port
        var policy = RetryPolicy()
        policy.sleep = { _ in }
        let api = PlusGuidanceAPI(baseURL: URL(string: "http://127.0.0.1:\(port)")!, http: http, retry: policy)
        let error = await refusal { _ = try await api.login(email: "a", password: "b") }
        #expect(error == .unreachableCode)
        #expect(error?.transport == .cannotConnect)
    }

    @Test func malformedAnswersAreInvalidResponsesNeverCrashes() async throws {
        let server = try await CornerServer.plain.value
        var policy = RetryPolicy()
        policy.sleep = { _ in }
        let api = PlusGuidanceAPI(
            baseURL: server.base, http: http, tokens: APITokens(accessToken: "a", refreshToken: "r"), retry: policy)
        #expect(await refusal { _ = try await api.me() } == .invalidResponseCode)
        #expect(await refusal { _ = try await api.changes(after: nil) } == .invalidResponseCode)
        #expect(await refusal { _ = try await api.offers() } == .invalidResponseCode)
        #expect(await refusal { _ = try await api.contacts() } == .invalidResponseCode)
        #expect(await refusal { _ = try await api.upcomingSessions() }?.code == "server_error")
    }
}

/// Records what `onTokensChanged` was called with.
actor TokenLog {
    private var values: [APITokens?] = []
    func record(_ tokens: APITokens?) { values.append(tokens) }
    var count: Int { values.count }
    var last: APITokens?? { values.last }
}
