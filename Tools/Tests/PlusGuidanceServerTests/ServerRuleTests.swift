import AsyncHTTPClient
import Foundation
import NIOHTTP1
import PlusGuidanceServer
import Testing

/// R1–R8 through the HTTP API of a running reference server.
@Suite struct ServerRuleTests {
    let longTokens: (inout ServerConfiguration) -> Void = { $0.accessTokenLifetime = 30 * 86_400 }

    @Test func withConfirmationTheClientAcceptsAndBothGetTheirLink() async throws {
        try await withServer(configure: longTokens) { api in
            let theo = try await api.login("therapist")
            let alice = try await api.login("alice")
            let offer = try await api.offer(theo, to: "usr_alice")
            #expect(offer.status == 201)
            #expect(offer["state"] == "pending")
            let offerID = try #require(offer["id"])

            let stream = try await api.request(.GET, "/v1/conversations/usr_therapist/messages", token: alice)
            #expect(stream.list("messages").first?["kind"] as? String == "sessionOffer")
            #expect(try await api.request(.GET, "/v1/sessions/upcoming", token: theo).list("sessions").isEmpty)

            let accepted = try await api.request(.POST, "/v1/offers/\(offerID)/accept", token: alice, key: "k-accept")
            #expect(accepted.status == 200)
            let session = try #require(accepted.json["session"] as? [String: any Sendable])
            #expect(session["state"] as? String == "inProgress")
            #expect(session["remainingSeconds"] as? Int == 3_000)

            let kinds = try await api.request(.GET, "/v1/conversations/usr_alice/messages", token: theo).list(
                "messages"
            )
            .compactMap { $0["kind"] as? String }
            #expect(kinds == ["sessionLink", "sessionReady", "sessionOffer"])
            let ready = try await api.request(.GET, "/v1/conversations/usr_therapist/messages", token: alice).list(
                "messages"
            )
            .first { $0["kind"] as? String == "sessionReady" }
            #expect(ready?["body"] as? String == "Your session is now ready. Click here to attend.")
            #expect(ready?["recipientId"] as? String == "usr_alice")
            // R7: both see it in their upcoming sessions, without a refresh of anything.
            for token in [theo, alice] {
                #expect(try await api.request(.GET, "/v1/sessions/upcoming", token: token).list("sessions").count == 1)
            }
        }
    }

    @Test func withoutConfirmationTheSessionExistsAtOnce() async throws {
        try await withServer(configure: longTokens) { api in
            let theo = try await api.login("therapist")
            _ = try await api.login("bob")
            let offer = try await api.offer(theo, to: "usr_bob", confirm: false)
            #expect(offer.status == 201)
            #expect(offer["state"] == "accepted")
            let sessionID = try #require(offer["sessionId"])
            let session = try await api.request(.GET, "/v1/sessions/\(sessionID)", token: theo)
            #expect(session["state"] == "inProgress")
            let kinds = try await api.request(.GET, "/v1/conversations/usr_bob/messages", token: theo).list("messages")
                .compactMap { $0["kind"] as? String }
            #expect(Set(kinds) == ["sessionReady", "sessionLink"])
        }
    }

    @Test func aDeclinedOfferMakesNoSessionAndTellsTheTherapist() async throws {
        try await withServer(configure: longTokens) { api in
            let theo = try await api.login("therapist")
            let alice = try await api.login("alice")
            let offerID = try #require(try await api.offer(theo).json["id"] as? String)
            let declined = try await api.request(.POST, "/v1/offers/\(offerID)/decline", token: alice, key: "d1")
            #expect(declined.status == 200)
            #expect((declined.json["offer"] as? [String: any Sendable])?["state"] as? String == "declined")
            #expect(declined.json["session"] == nil)
            let latest = try await api.request(.GET, "/v1/conversations/usr_alice/messages?limit=1", token: theo).list(
                "messages")
            #expect(latest.first?["kind"] as? String == "offerDeclined")
            #expect(try await api.request(.GET, "/v1/sessions/upcoming", token: theo).list("sessions").isEmpty)
            let again = try await api.request(.POST, "/v1/offers/\(offerID)/accept", token: alice, key: "a1")
            #expect(again.status == 409)
            #expect(again.code == "offer_already_answered")
        }
    }

    @Test func anUnansweredOfferExpiresAfterAnHourOnServerTimeEvenIfNobodyAsks() async throws {
        try await withServer(configure: longTokens) { api in
            let theo = try await api.login("therapist")
            let alice = try await api.login("alice")
            let offerID = try #require(try await api.offer(theo).json["id"] as? String)
            try await api.advance(3_599)
            #expect(
                try await api.request(.GET, "/v1/offers", token: theo).list("offers").first?["state"] as? String
                    == "pending")
            try await api.advance(2)
            // Nobody answered or asked: the advance itself runs the expiry, with its message.
            #expect(
                try await api.request(.GET, "/v1/offers", token: theo).list("offers").first?["state"] as? String
                    == "expired")
            let latest = try await api.request(.GET, "/v1/conversations/usr_alice/messages?limit=1", token: theo).list(
                "messages")
            #expect(latest.first?["kind"] as? String == "offerExpired")
            let late = try await api.request(.POST, "/v1/offers/\(offerID)/accept", token: alice, key: "late")
            #expect(late.status == 409)
            #expect(late.code == "offer_expired")
            #expect(try await api.request(.GET, "/v1/sessions/upcoming", token: alice).list("sessions").isEmpty)
        }
    }

    @Test func acceptingAt59m59sWorks() async throws {
        try await withServer(configure: longTokens) { api in
            let theo = try await api.login("therapist")
            let alice = try await api.login("alice")
            let offerID = try #require(try await api.offer(theo).json["id"] as? String)
            try await api.advance(3_599)
            #expect(try await api.request(.POST, "/v1/offers/\(offerID)/accept", token: alice, key: "k").status == 200)
        }
    }

    @Test func anOfferNeedsTheClientOnlineNow() async throws {
        try await withServer(configure: longTokens) { api in
            let theo = try await api.login("therapist")
            // Bob never signed in: offline.
            let offline = try await api.offer(theo, to: "usr_bob")
            #expect(offline.status == 409)
            #expect(offline.code == "client_offline")
            // Alice's last request is older than the presence window: offline again.
            _ = try await api.login("alice")
            try await api.advance(61)
            #expect(try await api.offer(theo).code == "client_offline")
            let contacts = try await api.request(.GET, "/v1/contacts", token: theo).list("contacts")
            #expect(contacts.map { $0["online"] as? Bool } == [false, false])
        }
    }

    @Test func anOpenEventStreamKeepsAClientOnline() async throws {
        try await withServer(configure: longTokens) { api in
            let theo = try await api.login("therapist")
            let alice = try await api.login("alice")
            let stream = EventStream(api: api, token: alice)
            try await stream.waitUntilOpen()
            try await api.advance(3_600)
            #expect(try await api.offer(theo).status == 201)
            let contacts = try await api.request(.GET, "/v1/contacts", token: theo).list("contacts")
            #expect(contacts.first { $0["id"] as? String == "usr_alice" }?["online"] as? Bool == true)
            stream.close()
        }
    }

    @Test func onlyTheirTherapistCanOfferAndOnlyTheTherapistCanStop() async throws {
        try await withServer(configure: longTokens) { api in
            let theo = try await api.login("therapist")
            let olga = try await api.login("other")
            let alice = try await api.login("alice")
            _ = try await api.login("carol")
            #expect(try await api.offer(theo, to: "usr_carol").code == "not_your_client")
            #expect(try await api.offer(olga, to: "usr_alice").code == "not_your_client")
            #expect(try await api.offer(theo, to: "usr_nobody").code == "not_your_client")
            #expect(try await api.offer(alice, to: "usr_alice").code == "therapist_only")

            let offer = try await api.offer(theo, confirm: false)
            let sessionID = try #require(offer["sessionId"])
            let byClient = try await api.request(.POST, "/v1/sessions/\(sessionID)/stop", token: alice, key: "s1")
            #expect(byClient.status == 403)
            #expect(byClient.code == "not_session_therapist")
            // Another therapist cannot even see it.
            #expect(
                try await api.request(.POST, "/v1/sessions/\(sessionID)/stop", token: olga, key: "s2").status == 404)
            #expect(try await api.request(.GET, "/v1/sessions/\(sessionID)", token: olga).status == 404)

            try await api.advance(3_200)
            let overtime = try await api.request(.GET, "/v1/sessions/\(sessionID)", token: alice)
            #expect(overtime["state"] == "inProgress")
            #expect(overtime.json["overtimeSeconds"] as? Int == 200)
            let stopped = try await api.request(.POST, "/v1/sessions/\(sessionID)/stop", token: theo, key: "s3")
            #expect(stopped["state"] == "ended")
            #expect(try await api.request(.GET, "/v1/sessions/upcoming", token: alice).list("sessions").isEmpty)
            let again = try await api.request(.POST, "/v1/sessions/\(sessionID)/stop", token: theo, key: "s4")
            #expect(again.code == "session_already_ended")
        }
    }

    @Test func nobodyReadsOrWritesAnotherPairsConversation() async throws {
        try await withServer(configure: longTokens) { api in
            let theo = try await api.login("therapist")
            let bob = try await api.login("bob")
            let carol = try await api.login("carol")
            #expect(try await api.send(theo, to: "usr_alice", "For Alice only").status == 201)
            // Bob and Carol are not Alice's counterparts; the answer does not reveal whether Alice exists.
            #expect(try await api.request(.GET, "/v1/conversations/usr_alice/messages", token: bob).status == 404)
            #expect(try await api.request(.GET, "/v1/conversations/usr_therapist/messages", token: carol).status == 404)
            #expect(try await api.send(carol, to: "usr_therapist", "hi").status == 404)
            #expect(try await api.send(bob, to: "usr_nobody", "hi").status == 404)
            let bobsFeed = try await api.feed(bob).list("changes")
            #expect(
                !bobsFeed.contains {
                    ($0["message"] as? [String: any Sendable])?["body"] as? String == "For Alice only"
                })
            let offers = try await api.request(.GET, "/v1/offers", token: carol)
            #expect(offers.list("offers").isEmpty)
        }
    }

    @Test func invalidInputIsRefusedWithTheDomainCode() async throws {
        try await withServer(configure: longTokens) { api in
            let theo = try await api.login("therapist")
            _ = try await api.login("alice")
            #expect(try await api.offer(theo, minutes: 1_000).code == "invalid_duration")
            let badType = try await api.request(
                .POST, "/v1/offers", token: theo,
                json: ["clientId": "usr_alice", "type": "hologram", "durationMinutes": 30], key: "t")
            #expect(badType.status == 422)
            #expect(badType.code == "unknown_session_type")
            let past = try await api.request(
                .POST, "/v1/offers", token: theo,
                json: [
                    "clientId": "usr_alice", "type": "voice", "durationMinutes": 30,
                    "startsAt": "2020-01-01T00:00:00.000Z",
                ], key: "p")
            #expect(past.code == "start_in_past")
            #expect(try await api.send(theo, to: "usr_alice", "   ").code == "empty_message")
            let long = try await api.send(theo, to: "usr_alice", String(repeating: "x", count: 8_193))
            #expect(long.code == "message_too_long")
            #expect(long.status == 422)
        }
    }
}
