import Foundation
@_spi(PlusGuidanceTools) import PlusGuidanceDomain
import Testing

@Suite struct MessageTests {
    @Test func textsFlowOnlyInsideTheirPair() throws {
        let message = try Message.text(
            id: "msg_1", from: Seed.alice.id, to: Seed.therapist.id, within: Seed.theoAlice,
            body: "Hello", at: Seed.t0)
        #expect(message.conversationID == Seed.theoAlice.conversationID)
        #expect(message.kind == .text)
        #expect(message.deliveryState == .sent)

        #expect(throws: DomainError.notAParticipant) {
            try Message.text(
                id: "m", from: Seed.alice.id, to: Seed.bob.id, within: Seed.theoAlice, body: "x", at: Seed.t0)
        }
        #expect(throws: DomainError.notAParticipant) {
            try Message.text(
                id: "m", from: Seed.carol.id, to: Seed.therapist.id, within: Seed.theoAlice, body: "x", at: Seed.t0)
        }
        #expect(throws: DomainError.notAParticipant) {
            try Message.text(id: "m", from: Seed.therapist.id, to: Seed.carol.id, within: nil, body: "x", at: Seed.t0)
        }
    }

    @Test(arguments: ["", " ", "\n\t  \n"])
    func blankBodiesAreRefused(body: String) {
        #expect(throws: DomainError.emptyMessage) { try MessageBody(body) }
    }

    @Test func theBodyLimitIsCountedInUTF8Bytes() throws {
        #expect(try MessageBody(String(repeating: "a", count: 8_192)).text.utf8.count == 8_192)
        #expect(throws: DomainError.messageTooLong) { try MessageBody(String(repeating: "a", count: 8_193)) }
        // 2,049 four-byte characters are 8,196 bytes.
        #expect(throws: DomainError.messageTooLong) { try MessageBody(String(repeating: "🙂", count: 2_049)) }
    }

    @Test func neitherTheMessageNorItsErrorsRevealTheBody() throws {
        let secret = "I have been feeling hopeless since March"
        let message = try Message.text(
            id: "msg_1", from: Seed.alice.id, to: Seed.therapist.id, within: Seed.theoAlice,
            body: secret, at: Seed.t0)
        #expect(!String(describing: message).contains("hopeless"))
        #expect(String(describing: message).contains("\(secret.utf8.count) bytes"))
        do {
            _ = try MessageBody(secret + String(repeating: " hopeless", count: 1_000))
            Issue.record("expected a refusal")
        } catch {
            #expect(!error.description.contains("hopeless"))
            #expect(error.description.contains("message_too_long"))
        }
    }

    @Test func conversationIDsRoundTripThroughTheirRawForm() throws {
        let id = Seed.theoAlice.conversationID
        #expect(ConversationID(rawValue: id.rawValue) == id)
        #expect(ConversationID(rawValue: "no-separator") == nil)
        #expect(ConversationID(rawValue: "~usr_alice") == nil)
        let data = try JSONEncoder().encode(id)
        #expect(String(decoding: data, as: UTF8.self) == "\"usr_t~usr_alice\"")
        #expect(try JSONDecoder().decode(ConversationID.self, from: data) == id)
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(ConversationID.self, from: Data("\"broken\"".utf8))
        }
    }

    @Test func aRelationKnowsItsCounterparts() {
        #expect(Seed.theoAlice.counterpart(of: Seed.alice.id) == Seed.therapist.id)
        #expect(Seed.theoAlice.counterpart(of: Seed.therapist.id) == Seed.alice.id)
        #expect(Seed.theoAlice.counterpart(of: Seed.bob.id) == nil)
    }
}

@Suite struct DomainErrorTests {
    @Test func everyCodeRoundTripsAndHasACategory() throws {
        #expect(DomainError.allCodes.count == Set(DomainError.allCodes).count)
        for code in DomainError.allCodes {
            let error = try #require(DomainError(code: code))
            #expect(error.code == code)
            #expect(!error.shortDescription.isEmpty)
            #expect(error.description.contains(code))
        }
        #expect(DomainError(code: "no_such_code") == nil)
    }

    @Test func categoriesGroupTheRules() {
        #expect(DomainError.invalidDuration.category == .invalidInput)
        #expect(DomainError.notYourClient.category == .forbidden)
        #expect(DomainError.clientOffline.category == .conflict)
        #expect(DomainError.offerExpired.category == .conflict)
        #expect(DomainError.notFound.category == .notFound)
    }

    @Test func equalityIsByCodeNotDetail() {
        #expect(DomainError.invalidDuration.with(detail: "3 minutes") == .invalidDuration)
        #expect(DomainError.invalidDuration != .startInPast)
        #expect(DomainError.offerExpired.code == "offer_expired")
        #expect(DomainError.clientOffline.code == "client_offline")
        #expect(DomainError.notYourClient.code == "not_your_client")
    }

    @Test func aSenderChoosesMessageIDsOnlyInsideItsOwnNamespace() {
        let id = MessageID(sender: "usr_a", nonce: "4f1c-x_9")
        #expect(id.rawValue == "msg_usr_a.4f1c-x_9")
        #expect(id.isChosen(by: "usr_a"))
        #expect(!id.isChosen(by: "usr_b"))
        // Another sender whose id starts like this one's cannot reach into its namespace.
        #expect(!MessageID("msg_usr_a-b.x").isChosen(by: "usr_a"))
        #expect(!MessageID("msg_usr_a.x").isChosen(by: "usr_a-b"))
        for bad in [
            "msg_usr_a.", "msg_usr_a.a.b", "msg_usr_a.é", "msg_usr_a", "usr_a.x", "msg_usr_a. x",
            "msg_usr_a." + String(repeating: "x", count: 65),
        ] {
            #expect(!MessageID(bad).isChosen(by: "usr_a"), "\(bad)")
        }
        #expect(MessageID("msg_usr_a." + String(repeating: "x", count: 64)).isChosen(by: "usr_a"))
        // A user id with a dot would make the namespace ambiguous: it chooses nothing.
        #expect(!MessageID("msg_usr.a.x").isChosen(by: "usr.a"))
    }
}
