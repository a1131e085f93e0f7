import Foundation
@_spi(PlusGuidanceTools) import PlusGuidanceDomain
import Testing

@Suite struct ReadPositionTests {
    func message(_ id: String, at offset: TimeInterval, from sender: User = Seed.alice) -> Message {
        Message(
            id: MessageID(id), conversationID: Seed.theoAlice.conversationID, senderID: sender.id,
            recipientID: Seed.theoAlice.counterpart(of: sender.id)!, kind: .text, body: "x",
            createdAt: Seed.t0 + offset)
    }

    @Test func aPositionOnlyMovesForward() throws {
        let first = try ReadPosition.marking(
            message("m2", at: 2), readBy: Seed.therapist.id, in: Seed.theoAlice, from: nil, at: Seed.t0 + 10)
        #expect(first.messageID == "m2")
        #expect(first.upTo == Seed.t0 + 2)
        #expect(first.readAt == Seed.t0 + 10)
        let older = try ReadPosition.marking(
            message("m1", at: 1), readBy: Seed.therapist.id, in: Seed.theoAlice, from: first, at: Seed.t0 + 20)
        #expect(older == first)
        let same = try ReadPosition.marking(
            message("m2", at: 2), readBy: Seed.therapist.id, in: Seed.theoAlice, from: first, at: Seed.t0 + 30)
        #expect(same == first)
        let later = try ReadPosition.marking(
            message("m3", at: 3), readBy: Seed.therapist.id, in: Seed.theoAlice, from: first, at: Seed.t0 + 40)
        #expect(later.messageID == "m3")
        #expect(later.readAt == Seed.t0 + 40)
    }

    @Test func onlyThePairReadsAndOnlyItsOwnConversation() {
        #expect(throws: DomainError.notAParticipant) {
            try ReadPosition.marking(
                message("m1", at: 1), readBy: Seed.bob.id, in: Seed.theoAlice, from: nil, at: Seed.t0)
        }
        #expect(throws: DomainError.notAParticipant) {
            try ReadPosition.marking(
                message("m1", at: 1), readBy: Seed.therapist.id, in: Seed.theoBob, from: nil, at: Seed.t0)
        }
    }

    @Test func aPositionCoversTheReadersMessagesUpToIt() throws {
        let position = try ReadPosition.marking(
            message("m2", at: 2), readBy: Seed.therapist.id, in: Seed.theoAlice, from: nil, at: Seed.t0)
        #expect(position.covers(message("m1", at: 1)))
        #expect(position.covers(message("m2", at: 2)))
        #expect(!position.covers(message("m3", at: 3)))
        #expect(!position.covers(message("t1", at: 1, from: Seed.therapist)))
    }

    @Test func aReceiptKeepsItsConversationsOrder() {
        let mark = ReadMark(
            conversationID: Seed.theoAlice.conversationID, peerID: Seed.alice.id, messageID: "m1", upTo: Seed.t0)
        #expect(OutboxAction.markRead(mark).orderingConversation == Seed.theoAlice.conversationID)
    }
}
