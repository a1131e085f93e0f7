import AsyncHTTPClient
import Foundation
import NIOHTTP1
import PlusGuidanceServer
@_spi(PlusGuidanceTools) import PlusGuidanceWire
import Testing

/// `POST /v1/batch`: queued actions in one request, each answered, stored and replayed as its
/// own request would be.
@Suite struct BatchTests {
    let longTokens: (inout ServerConfiguration) -> Void = { $0.accessTokenLifetime = 30 * 86_400 }

    static func text(_ key: String, to peer: String, _ body: String, id: String? = nil) -> [String: String] {
        var action = ["key": key, "op": "send_message", "peer": peer, "body": body]
        if let id { action["id"] = id }
        return action
    }

    static func results(_ answer: Answer) -> [[String: any Sendable]] { answer.list("results") }

    static func texts(_ api: TestAPI, _ token: String, with peer: String) async throws -> [String] {
        try await api.request(.GET, "/v1/conversations/\(peer)/messages?limit=200", token: token).list("messages")
            .filter { $0["kind"] as? String == "text" }.compactMap { $0["body"] as? String }.reversed()
    }

    @Test func actionsRunInOrderAndALostBatchReplaysInAnySplitAppliedOnce() async throws {
        try await withServer(configure: longTokens) { api in
            let alice = try await api.login("alice")
            let theo = try await api.login("therapist")
            let actions = (1...5).map {
                Self.text("k\($0)", to: "usr_therapist", "text \($0)", id: "msg_usr_alice.batch_\($0)")
            }
            let first = try await api.request(.POST, "/v1/batch", token: alice, json: ["actions": actions])
            #expect(first.status == 200)
            let results = Self.results(first)
            #expect(results.map { $0["key"] as? String } == ["k1", "k2", "k3", "k4", "k5"])
            #expect(results.allSatisfy { $0["status"] as? Int == 201 && $0["replayed"] as? Bool == false })
            #expect(
                results.compactMap { ($0["body"] as? [String: any Sendable])?["id"] as? String }
                    == (1...5).map { "msg_usr_alice.batch_\($0)" })

            // Its answer was lost: the client replays in another split — a smaller batch with a new
            // action after it, then one action as its own request.
            let replay = try await api.request(
                .POST, "/v1/batch", token: alice,
                json: ["actions": Array(actions[0..<3]) + [Self.text("k6", to: "usr_therapist", "text 6")]])
            #expect(Self.results(replay).map { $0["replayed"] as? Bool } == [true, true, true, false])
            #expect(Self.results(replay)[0]["body"] as? [String: any Sendable] != nil)
            let single = try await api.request(
                .POST, "/v1/conversations/usr_therapist/messages", token: alice,
                json: ["id": "msg_usr_alice.batch_5", "body": "text 5"], key: "k5")
            #expect(single.status == 201)
            #expect(single.headers["Idempotent-Replayed"].first == "true")
            #expect(single["id"] == "msg_usr_alice.batch_5")
            // And a single request's key replays inside a batch.
            _ = try await api.send(alice, to: "usr_therapist", "text 7", key: "k7")
            let mixed = try await api.request(
                .POST, "/v1/batch", token: alice,
                json: ["actions": [Self.text("k7", to: "usr_therapist", "text 7"), actions[3]]])
            #expect(Self.results(mixed).map { $0["replayed"] as? Bool } == [true, true])

            #expect(
                try await Self.texts(api, theo, with: "usr_alice")
                    == ["text 1", "text 2", "text 3", "text 4", "text 5", "text 6", "text 7"])
            // A key reused for another action is refused like its own request, and stops its
            // conversation's later messages.
            let reused = try await api.request(
                .POST, "/v1/batch", token: alice,
                json: [
                    "actions": [
                        Self.text("k1", to: "usr_therapist", "not text 1"),
                        Self.text("k8", to: "usr_therapist", "text 8"),
                    ]
                ])
            #expect(Self.results(reused).map { $0["status"] as? Int } == [422, nil])
            #expect(Self.results(reused)[1]["skipped"] as? Bool == true)
            #expect(
                (Self.results(reused)[0]["body"] as? [String: any Sendable])?["code"] as? String
                    == "idempotency_key_reused")
        }
    }

    @Test func aTextsFeedEntryHoldsTheSameJSONAsItsAnswerAndDecodesOnBothPaths() async throws {
        // The answer's JSON is spliced into the feed entry (encoded once): the entry must still
        // be a `ChangeWire`, for the fast page reader and for JSONDecoder alike.
        try await withServer(configure: longTokens) { api in
            let alice = try await api.login("alice")
            let bodies = ["quote \" backslash \\ slash / tab \t nl \n", "\u{1}\u{1F}\u{7F} é 日本 🙂", "x"]
            let actions = bodies.enumerated().map { Self.text("k/\"\($0.offset)", to: "usr_therapist", $0.element) }
            let batch = try await api.request(.POST, "/v1/batch", token: alice, json: ["actions": actions])
            let single = try await api.request(
                .POST, "/v1/conversations/usr_therapist/messages", token: alice, json: ["body": "alone /\""], key: "k3")
            let answers =
                Self.results(batch).compactMap { $0["body"] as? [String: any Sendable] } + [single.json]
            #expect(Self.results(batch).map { $0["key"] as? String } == ["k/\"0", "k/\"1", "k/\"2"])
            #expect(answers.count == 4)

            let page = try await api.request(.GET, "/v1/changes?limit=500", token: alice)
            let entries = page.list("changes").filter { $0["entity"] as? String == "message" }.suffix(4)
            #expect(entries.count == 4)
            for (entry, answer) in zip(entries, answers) {
                #expect(entry["op"] as? String == "upsert")
                #expect(entry["id"] as? String == answer["id"] as? String)
                #expect(
                    NSDictionary(dictionary: entry["message"] as? [String: any Sendable] ?? [:])
                        == NSDictionary(dictionary: answer))
            }
            let fast = try #require(FeedPageReader.read(page.body))
            let decoded = try JSONDecoder().decode(FeedPageWire.self, from: page.body)
            #expect(fast == decoded)
            #expect(decoded.changes.suffix(4).compactMap { $0.message?.body } == bodies + ["alone /\""])
            // The entry holds the answer's own bytes.
            #expect(page.body.range(of: single.body) != nil)
        }
    }

    @Test func oneRefusalLeavesTheRestAndStopsOnlyItsConversationsLaterMessages() async throws {
        try await withServer(configure: longTokens) { api in
            let alice = try await api.login("alice")
            let theo = try await api.login("therapist")
            let offer = try #require(try await api.offer(theo, to: "usr_alice")["id"])
            try await api.advance(3_601)
            let batch = try await api.request(
                .POST, "/v1/batch", token: alice,
                json: [
                    "actions": [
                        Self.text("a1", to: "usr_therapist", "before"),
                        ["key": "a2", "op": "accept_offer", "offer": offer],
                        Self.text("a3", to: "usr_therapist", String(repeating: "x", count: 9_000)),
                        Self.text("a4", to: "usr_therapist", "behind the refused one"),
                        Self.text("a5", to: "usr_bob", "another pair's conversation"),
                    ]
                ])
            #expect(batch.status == 200)
            let results = Self.results(batch)
            #expect(results.map { $0["status"] as? Int } == [201, 409, 422, nil, 404])
            #expect((results[1]["body"] as? [String: any Sendable])?["code"] as? String == "offer_expired")
            #expect(results[3]["skipped"] as? Bool == true)
            // R1: a conversation outside Alice's pair does not exist for her.
            #expect((results[4]["body"] as? [String: any Sendable])?["code"] as? String == "not_found")
            #expect(try await Self.texts(api, theo, with: "usr_alice") == ["before"])

            // The skipped action stored nothing: sent again, it is applied, not replayed.
            let again = try await api.request(
                .POST, "/v1/batch", token: alice,
                json: ["actions": [Self.text("a4", to: "usr_therapist", "behind the refused one")]])
            #expect(Self.results(again).first?["status"] as? Int == 201)
            #expect(Self.results(again).first?["replayed"] as? Bool == false)
            // The refusals are stored: a replay answers them again.
            let replay = try await api.request(.POST, "/v1/offers/\(offer)/accept", token: alice, key: "a2")
            #expect(replay.status == 409)
            #expect(replay.headers["Idempotent-Replayed"].first == "true")
        }
    }

    /// R6 holds inside a batch: only the session's therapist stops it.
    @Test func onlyTheTherapistStopsASessionInABatchToo() async throws {
        try await withServer(configure: longTokens) { api in
            let alice = try await api.login("alice")
            let theo = try await api.login("therapist")
            let offer = try await api.offer(theo, to: "usr_alice", confirm: false)
            let session = try #require(offer["sessionId"])
            let byClient = try await api.request(
                .POST, "/v1/batch", token: alice,
                json: ["actions": [["key": "s1", "op": "stop_session", "session": session]]])
            #expect(Self.results(byClient).first?["status"] as? Int == 403)
            #expect(
                (Self.results(byClient).first?["body"] as? [String: any Sendable])?["code"] as? String
                    == "not_session_therapist")
            let byTherapist = try await api.request(
                .POST, "/v1/batch", token: theo,
                json: ["actions": [["key": "s2", "op": "stop_session", "session": session]]])
            #expect(Self.results(byTherapist).first?["status"] as? Int == 200)
            #expect(
                (Self.results(byTherapist).first?["body"] as? [String: any Sendable])?["state"] as? String == "ended")
        }
    }

    @Test func aMalformedBatchIsRefusedWholeAndChangesNothing() async throws {
        try await withServer(configure: longTokens) { api in
            let alice = try await api.login("alice")
            let theo = try await api.login("therapist")
            for actions in [
                [Self.text("m1", to: "usr_therapist", "fine"), ["key": "m2", "op": "launch_rocket"]],
                [
                    Self.text("m1", to: "usr_therapist", "fine"),
                    ["key": "m2", "op": "send_message", "peer": "usr_therapist"],
                ],
                [Self.text("m1", to: "usr_therapist", "fine"), ["key": "", "op": "stop_session", "session": "s"]],
                [],
                (0...100).map { Self.text("n\($0)", to: "usr_therapist", "too many") },
            ] as [[[String: String]]] {
                let answer = try await api.request(.POST, "/v1/batch", token: alice, json: ["actions": actions])
                #expect(answer.status == 422, "\(actions.first ?? [:])")
                #expect(answer.code == "invalid_request")
            }
            #expect(try await Self.texts(api, theo, with: "usr_alice").isEmpty)
            #expect(
                try await api.request(.POST, "/v1/batch", json: ["actions": [Self.text("x", to: "usr_therapist", "x")]])
                    .status == 401)
        }
    }
}
