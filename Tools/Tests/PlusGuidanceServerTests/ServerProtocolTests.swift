import AsyncHTTPClient
import Foundation
import NIOHTTP1
@_spi(PlusGuidanceTools) import PlusGuidanceDomain
import PlusGuidanceServer
import Testing

/// Idempotency, the change feed, the event stream, errors and restarts.
/// A flag one task sets and another reads without waiting.
actor Flag {
    private(set) var isSet = false
    func set() { isSet = true }
}

@Suite struct ServerProtocolTests {
    let longTokens: (inout ServerConfiguration) -> Void = { $0.accessTokenLifetime = 30 * 86_400 }

    @Test func theSameKeyReplaysTheFirstAnswerAndCreatesNothingTwice() async throws {
        try await withServer(configure: longTokens) { api in
            let alice = try await api.login("alice")
            let first = try await api.send(alice, to: "usr_therapist", "Only once", key: "key-1")
            let second = try await api.send(alice, to: "usr_therapist", "Only once", key: "key-1")
            #expect(first.status == 201)
            #expect(second.status == 201)
            #expect(second.body == first.body)
            #expect(second.headers.first(name: "Idempotent-Replayed") == "true")
            #expect(first.headers.first(name: "Idempotent-Replayed") == nil)
            let messages = try await api.request(.GET, "/v1/conversations/usr_therapist/messages", token: alice).list(
                "messages")
            #expect(messages.count == 1)
        }
    }

    @Test func theSameKeyWithAnotherRequestIsRefused() async throws {
        try await withServer(configure: longTokens) { api in
            let alice = try await api.login("alice")
            _ = try await api.send(alice, to: "usr_therapist", "First", key: "key-1")
            let other = try await api.send(alice, to: "usr_therapist", "Something else", key: "key-1")
            #expect(other.status == 422)
            #expect(other.code == "idempotency_key_reused")
        }
    }

    @Test func aRefusalIsStoredAndReplayedToo() async throws {
        try await withServer(configure: longTokens) { api in
            let theo = try await api.login("therapist")
            let first = try await api.offer(theo, to: "usr_bob", key: "offer-1")
            #expect(first.code == "client_offline")
            _ = try await api.login("bob")
            let replay = try await api.offer(theo, to: "usr_bob", key: "offer-1")
            #expect(replay.code == "client_offline")
            #expect(replay.headers.first(name: "Idempotent-Replayed") == "true")
            #expect(try await api.offer(theo, to: "usr_bob", key: "offer-2").status == 201)
        }
    }

    @Test func theSameValuesInAnotherKeyOrderAreTheSameRequest() async throws {
        try await withServer(configure: longTokens) { api in
            let alice = try await api.login("alice")
            let path = "/v1/conversations/usr_therapist/messages"
            let first = try await api.request(
                .POST, path, token: alice, raw: Data(#"{"id":"msg_usr_alice.m-1","body":"Hi"}"#.utf8), key: "k")
            let retry = try await api.request(
                .POST, path, token: alice, raw: Data(#"{ "body": "Hi", "id": "msg_usr_alice.m-1" }"#.utf8), key: "k")
            #expect(first.status == 201)
            #expect(retry.status == 201)
            #expect(retry.headers.first(name: "Idempotent-Replayed") == "true")
        }
    }

    @Test func keysAreScopedToTheirUser() async throws {
        try await withServer(configure: longTokens) { api in
            let alice = try await api.login("alice")
            let bob = try await api.login("bob")
            #expect(try await api.send(alice, to: "usr_therapist", "A", key: "same").status == 201)
            let fromBob = try await api.send(bob, to: "usr_therapist", "B", key: "same")
            #expect(fromBob.status == 201)
            #expect(fromBob.headers.first(name: "Idempotent-Replayed") == nil)
        }
    }

    @Test func postsWithoutAKeyAreRefused() async throws {
        try await withServer(configure: longTokens) { api in
            let alice = try await api.login("alice")
            let answer = try await api.request(
                .POST, "/v1/conversations/usr_therapist/messages", token: alice, json: ["body": "x"])
            #expect(answer.status == 400)
            #expect(answer.code == "idempotency_key_required")
        }
    }

    @Test func aClientChosenMessageIDIsKeptInsideTheSendersNamespace() async throws {
        try await withServer(configure: longTokens) { api in
            let alice = try await api.login("alice")
            let answer = try await api.request(
                .POST, "/v1/conversations/usr_therapist/messages", token: alice,
                json: ["id": "msg_usr_alice.local-1", "body": "Hi"], key: "k1")
            #expect(answer.status == 201)
            #expect(answer["id"] == "msg_usr_alice.local-1")
            // Alice's own id again, under another key: hers, so she may learn it is taken.
            let taken = try await api.request(
                .POST, "/v1/conversations/usr_therapist/messages", token: alice,
                json: ["id": "msg_usr_alice.local-1", "body": "Hi"], key: "k2")
            #expect(taken.code == "message_id_taken")
            for invalid in ["../x", "msg_usr_alice.", "msg_usr_alice.a.b", "msg_local-1", "msg_usr_alice_x.y"] {
                let refused = try await api.request(
                    .POST, "/v1/conversations/usr_therapist/messages", token: alice,
                    json: ["id": invalid, "body": "Hi"], key: "k-\(invalid)")
                #expect(refused.code == "invalid_request", "\(invalid)")
            }
        }
    }

    /// `message_id_taken` used to tell anyone whether an id existed in any conversation. Ids are
    /// now chosen inside the sender's namespace, so probing another sender's id is refused by its
    /// form alone: the answer is the same whether the id exists or not.
    @Test func noSenderCanProbeAnotherSendersMessageIDs() async throws {
        try await withServer(configure: longTokens) { api in
            let bob = try await api.login("bob")
            let carol = try await api.login("carol")
            let alice = try await api.login("alice")
            let sent = try await api.request(
                .POST, "/v1/conversations/usr_therapist/messages", token: bob,
                json: ["id": "msg_usr_bob.secret-1", "body": "private"], key: "b1")
            #expect(sent.status == 201)
            let server = try await api.send(bob, to: "usr_therapist", "server-assigned", key: "b2")
            let serverID = try #require(server["id"])
            for (token, peer, key) in [(alice, "usr_therapist", "a"), (carol, "usr_other", "c")] {
                var answers: [String] = []
                for id in ["msg_usr_bob.secret-1", "msg_usr_bob.never-used", serverID, "msg_never-used"] {
                    let probe = try await api.request(
                        .POST, "/v1/conversations/\(peer)/messages", token: token,
                        json: ["id": id, "body": "probe"], key: "\(key)-\(id)")
                    answers.append("\(probe.status) \(probe.code ?? "")")
                }
                #expect(Set(answers) == ["422 invalid_request"], "\(answers)")
            }
            let therapist = try await api.login("therapist")
            #expect(try await BatchTests.texts(api, therapist, with: "usr_bob") == ["private", "server-assigned"])
        }
    }

    @Test func feedPagesUnderConcurrentWritersLoseAndRepeatNothing() async throws {
        try await withServer(configure: longTokens) { api in
            let theo = try await api.login("therapist")
            let alice = try await api.login("alice")
            let bob = try await api.login("bob")
            // Two writers send 60 messages each while a reader pages through the feed, 7 at a time.
            let done = Flag()
            let writers = Task {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for token in [alice, bob] {
                        group.addTask {
                            for i in 0..<60 { _ = try await api.send(token, to: "usr_therapist", "m\(i)") }
                        }
                    }
                    try await group.waitForAll()
                }
                await done.set()
            }
            var seen: [String] = []
            var cursor: String?
            var drainedAfterWriters = false
            while !drainedAfterWriters {
                // Once the writers are done, one more read to the end sees everything they wrote.
                let writersDone = await done.isSet
                var hasMore = true
                while hasMore {
                    let page = try await api.feed(theo, after: cursor, limit: 7)
                    #expect(page.status == 200)
                    seen += page.list("changes").filter { $0["entity"] as? String == "message" }.compactMap {
                        $0["id"] as? String
                    }
                    cursor = page["cursor"]
                    hasMore = page.json["hasMore"] as? Bool ?? false
                }
                drainedAfterWriters = writersDone
            }
            try await writers.value
            let messageIDs =
                try await api.request(.GET, "/v1/conversations/usr_alice/messages?limit=200", token: theo).list(
                    "messages"
                )
                .compactMap { $0["id"] as? String }
                + (try await api.request(.GET, "/v1/conversations/usr_bob/messages?limit=200", token: theo).list(
                    "messages"
                )
                .compactMap { $0["id"] as? String })
            #expect(messageIDs.count == 120)
            // Every message is created once and never changed: exactly one change each, none missed.
            #expect(Set(seen) == Set(messageIDs))
            #expect(seen.count == messageIDs.count, "a change was served twice")
        }
    }

    @Test func aBadOrPrunedCursorAsksForAResync() async throws {
        try await withServer(configure: longTokens) { api in
            let alice = try await api.login("alice")
            for cursor in ["garbage", "c999999", "c-1", ""] {
                let answer = try await api.feed(alice, after: cursor)
                #expect(answer.status == 410, "\(cursor)")
                #expect(answer.code == "cursor_too_old")
            }
            let first = try await api.feed(alice)
            #expect(first.status == 200)
            #expect(try await api.feed(alice, after: first["cursor"]).status == 200)
        }
    }

    @Test func aFeedPageCountsWhatFollowsItWhenAsked() async throws {
        try await withServer(configure: longTokens) { api in
            let alice = try await api.login("alice")
            for i in 0..<5 { _ = try await api.send(alice, to: "usr_therapist", "m\(i)") }
            let all = try await api.feed(alice).list("changes").count
            let first = try await api.feed(alice, limit: 2, count: "true")
            #expect(first.json["remaining"] as? Int == all - 2)
            #expect(first.json["hasMore"] as? Bool == true)
            let second = try await api.feed(alice, after: first["cursor"], limit: 2, count: "true")
            #expect(second.json["remaining"] as? Int == all - 4)
            let last = try await api.feed(alice, after: first["cursor"], limit: 1_000, count: "true")
            #expect(last.json["remaining"] as? Int == 0)
            #expect(try await api.feed(alice, limit: 2).json["remaining"] == nil)
            let bad = try await api.feed(alice, count: "yes")
            #expect(bad.status == 422)
        }
    }

    @Test func theFeedHasTheUsersOfThePairAndEveryCommittedChange() async throws {
        try await withServer(configure: longTokens) { api in
            let alice = try await api.login("alice")
            let initial = try await api.feed(alice)
            let users = initial.list("changes").filter { $0["entity"] as? String == "user" }.compactMap {
                $0["id"] as? String
            }
            #expect(Set(users) == ["usr_therapist", "usr_alice"])
            _ = try await api.send(alice, to: "usr_therapist", "hello")
            let next = try await api.feed(alice, after: initial["cursor"])
            let change = try #require(next.list("changes").first)
            #expect(change["entity"] as? String == "message")
            #expect(change["op"] as? String == "upsert")
            #expect((change["message"] as? [String: any Sendable])?["body"] as? String == "hello")
        }
    }

    @Test func theEventStreamDeliversChangesAndHeartbeatsAndResumesAfterTheLastEventID() async throws {
        try await withServer(configure: longTokens) { api in
            let theo = try await api.login("therapist")
            let alice = try await api.login("alice")
            let stream = EventStream(api: api, token: theo)
            try await stream.waitUntilOpen()
            _ = try await api.send(alice, to: "usr_therapist", "one")
            _ = try await api.send(alice, to: "usr_therapist", "two")
            let first = try await stream.changes(count: 2)
            #expect(first.map { $0.id != nil } == [true, true])
            try await stream.wait { await stream.heartbeats >= 2 }
            stream.close()

            _ = try await api.send(alice, to: "usr_therapist", "three while away")
            let resumed = EventStream(api: api, token: theo, lastEventID: first.last?.id)
            let missed = try await resumed.changes(count: 1)
            #expect(missed.first?.data.contains("three while away") == true)
            #expect(!missed.contains { $0.data.contains("\"two\"") })
            resumed.close()
        }
    }

    @Test func manyClientsCanListenAtOnce() async throws {
        try await withServer(configure: longTokens) { api in
            let theo = try await api.login("therapist")
            let alice = try await api.login("alice")
            let streams = (0..<20).map { _ in EventStream(api: api, token: theo) }
            for stream in streams { try await stream.waitUntilOpen() }
            _ = try await api.send(alice, to: "usr_therapist", "to everyone")
            for stream in streams { #expect(try await stream.changes(count: 1).count == 1) }
            streams.forEach { $0.close() }
        }
    }

    @Test func everyAnswerHasADateAndErrorsAreProblemDocuments() async throws {
        try await withServer(configure: longTokens) { api in
            let unknown = try await api.request(.GET, "/v1/no-such-thing")
            #expect(unknown.status == 404)
            #expect(unknown.headers.first(name: "Content-Type") == "application/problem+json")
            #expect(unknown.code == "no_such_endpoint")
            #expect(unknown.headers.first(name: "Date") != nil)
            // Server-Time is the test clock (it starts at 2027-01-15T08:00:00Z and runs with real
            // time), Date the wall clock.
            let start = try #require(RFC3339.date("2027-01-15T08:00:00Z"))
            let serverTime = try #require(unknown.headers.first(name: "Server-Time").flatMap(RFC3339.date))
            #expect(serverTime >= start && serverTime < start + 600)

            let anonymous = try await api.request(.GET, "/v1/offers")
            #expect(anonymous.status == 401)
            #expect(anonymous.code == "unauthorized")
            #expect(anonymous.headers.first(name: "WWW-Authenticate") == "Bearer")
            #expect(try await api.request(.GET, "/v1/offers", token: "pga_forged").code == "unauthorized")

            let token = try await api.login("alice")
            let cases: [(Data, Int, String)] = [
                (Data("{not json".utf8), 400, "malformed_json"),
                (Data("{}".utf8), 422, "invalid_request"),
                (Data(#"{"body": 42}"#.utf8), 422, "invalid_request"),
                (Data(#"{"body": null}"#.utf8), 422, "invalid_request"),
                (Data("[]".utf8), 422, "invalid_request"),
                (Data(repeating: 0x20, count: 70_000), 413, "body_too_large"),
            ]
            for (index, (body, status, code)) in cases.enumerated() {
                let answer = try await api.request(
                    .POST, "/v1/conversations/usr_therapist/messages", token: token, raw: body, key: "bad-\(index)")
                #expect(answer.status == status, "case \(index)")
                #expect(answer.code == code, "case \(index)")
                #expect(answer.headers.first(name: "Date") != nil)
            }
            let wrongLogin = try await api.request(
                .POST, "/v1/auth/login", json: ["email": "alice@example.com", "password": "nope"])
            #expect(wrongLogin.status == 401)
            #expect(wrongLogin.code == "invalid_credentials")
            #expect(!String(decoding: wrongLogin.body, as: UTF8.self).contains("nope"))
        }
    }

    /// Hardening #5: 2,000 wrong passwords in a row were all answered 401. Past ten failures
    /// an account is throttled (429 with Retry-After, the right password too, no hashing),
    /// other accounts are not; past fifty failures from one address, every account is.
    @Test func failedSignInsAreThrottledPerAccountAndPerAddress() async throws {
        try await withServer(configure: longTokens) { api in
            func login(_ email: String, _ password: String) async throws -> Answer {
                try await api.request(.POST, "/v1/auth/login", json: ["email": email, "password": password])
            }
            for _ in 0..<10 { #expect(try await login("alice@example.com", "guess").status == 401) }
            let throttled = try await login("alice@example.com", "alice-pass")
            #expect(throttled.status == 429)
            #expect(throttled.code == "too_many_attempts")
            let retryAfter = try #require(throttled.headers.first(name: "Retry-After").flatMap(Int.init))
            #expect((1...301).contains(retryAfter))
            #expect(try await login("bob@example.com", "bob-pass").status == 200)

            // Unknown e-mails count against the address: 40 more failures make 50.
            for index in 0..<40 { #expect(try await login("nobody\(index)@example.com", "guess").status == 401) }
            #expect(try await login("bob@example.com", "bob-pass").status == 429)
        }
    }

    @Test func tokensExpireOnServerTimeAndRefreshRotates() async throws {
        try await withServer { api in
            let login = try await api.request(
                .POST, "/v1/auth/login", json: ["email": "alice@example.com", "password": "alice-pass"])
            let access = try #require(login["accessToken"])
            let refresh = try #require(login["refreshToken"])
            try await api.advance(901)
            let expired = try await api.request(.GET, "/v1/me", token: access)
            #expect(expired.code == "token_expired")
            let renewed = try await api.request(.POST, "/v1/auth/refresh", json: ["refreshToken": refresh])
            #expect(renewed.status == 200)
            let newAccess = try #require(renewed["accessToken"])
            #expect(try await api.request(.GET, "/v1/me", token: newAccess)["email"] == "alice@example.com")
            // Reusing the old refresh token revokes the whole family, including the new tokens.
            #expect(
                try await api.request(.POST, "/v1/auth/refresh", json: ["refreshToken": refresh]).code
                    == "invalid_refresh_token")
            #expect(try await api.request(.GET, "/v1/me", token: newAccess).status == 401)
        }
    }

    @Test func logoutRevokesTheTokens() async throws {
        try await withServer(configure: longTokens) { api in
            let token = try await api.login("alice")
            #expect(try await api.request(.POST, "/v1/auth/logout", token: token).status == 204)
            #expect(try await api.request(.GET, "/v1/me", token: token).status == 401)
        }
    }

    @Test func theTestClockExistsOnlyInTestMode() async throws {
        try await withServer(configure: { $0.testClock = false }) { api in
            let answer = try await api.request(.POST, "/v1/test/clock/advance", json: ["seconds": 10])
            #expect(answer.status == 404)
        }
    }

    @Test func dataSurvivesARestartWithTheSameDatabase() async throws {
        let folder = FileManager.default.temporaryDirectory.path + "/pg-restart-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let database = folder + "/server.sqlite"
        let cursor: String = try await withServer(database: database, configure: longTokens) { api in
            let alice = try await api.login("alice")
            _ = try await api.send(alice, to: "usr_therapist", "before the restart", key: "restart-key")
            return try #require(try await api.feed(alice)["cursor"])
        }
        try await withServer(database: database, configure: longTokens) { api in
            let alice = try await api.login("alice")
            let messages = try await api.request(.GET, "/v1/conversations/usr_therapist/messages", token: alice).list(
                "messages")
            #expect(messages.map { $0["body"] as? String } == ["before the restart"])
            #expect(try await api.feed(alice, after: cursor).status == 200)
            let replay = try await api.send(alice, to: "usr_therapist", "before the restart", key: "restart-key")
            #expect(replay.headers.first(name: "Idempotent-Replayed") == "true")
        }
    }

    /// A restarted test server carries on from the latest time it recorded: its clock starts at
    /// a fixed time, which must not put it back before its own data.
    @Test func aRestartedTestClockNeverRunsBackOverItsData() async throws {
        let folder = FileManager.default.temporaryDirectory.path + "/pg-clock-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let database = folder + "/server.sqlite"
        let sentAt = try await withServer(database: database) { api in
            try await api.advance(7_200)
            let alice = try await api.login("alice")
            let sent = try await api.send(alice, to: "usr_therapist", "before the restart")
            return try #require(sent["createdAt"].flatMap(RFC3339.date))
        }
        try await withServer(database: database) { api in
            let answer = try await api.request(.GET, "/v1/health")
            let now = try #require(answer.headers.first(name: "Server-Time").flatMap(RFC3339.date))
            #expect(now > sentAt)
            #expect(now < sentAt + 600)
        }
    }
}
