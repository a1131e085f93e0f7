import Foundation
@_spi(PlusGuidanceTools) import PlusGuidanceDomain
@_spi(PlusGuidanceTools) import PlusGuidanceSync
import PlusGuidanceTesting
import Testing

@Suite struct OutboxScheduleTests {
    let now = Fixtures.epoch

    func message(_ key: String, _ sequence: Int64, in relation: CareRelation = Fixtures.theoAlice) -> OutboxEntry {
        var entry = OutboxEntry(
            id: IdempotencyKey(key), action: .sendMessage(Fixtures.message("m_\(key)", in: relation)), enqueuedAt: now)
        entry.sequence = sequence
        return entry
    }

    func action(_ key: String, _ sequence: Int64, _ action: OutboxAction) -> OutboxEntry {
        var entry = OutboxEntry(id: IdempotencyKey(key), action: action, enqueuedAt: now)
        entry.sequence = sequence
        return entry
    }

    @Test func messagesOfOneConversationGoInEnqueueOrder() {
        let entries = [message("b", 2), message("a", 1), message("c", 3)]
        #expect(OutboxSchedule.deliverable(entries, at: now).map(\.id) == ["a", "b", "c"])
    }

    @Test func conversationsAndOtherActionsDoNotWaitForEachOther() {
        let entries = [
            message("alice1", 1), message("bob1", 2, in: Fixtures.theoBob), message("alice2", 3),
            action("accept", 4, .acceptOffer("o1")), action("stop", 5, .stopSession("s1")),
        ]
        var waiting = entries[0]
        waiting.beginAttempt()
        // Alice's conversation is held up by its first message; Bob's and the answers are not.
        #expect(
            OutboxSchedule.deliverable([waiting] + entries.dropFirst(), at: now).map(\.id) == [
                "bob1", "accept", "stop",
            ])
    }

    @Test func aMessageInFlightOrFailedBlocksTheNextOfItsConversation() {
        var first = message("a", 1)
        first.beginAttempt()
        #expect(OutboxSchedule.deliverable([first, message("b", 2)], at: now).isEmpty)
        first.failPermanently(OutboxFailure(code: "x", reason: "y"))
        #expect(OutboxSchedule.deliverable([first, message("b", 2)], at: now).isEmpty)
        first.retry()
        #expect(OutboxSchedule.deliverable([first, message("b", 2)], at: now).map(\.id) == ["a", "b"])
    }

    @Test func aDeliveryRoundTakesEachConversationUpToItsFirstEntryThatIsNotDue() {
        var waiting = message("bob1", 3, in: Fixtures.theoBob)
        waiting.beginAttempt()
        waiting.failTransiently(OutboxFailure(code: "cannot_connect", reason: ""), retryAt: now + 30)
        var failed = message("alice3", 6)
        failed.beginAttempt()
        failed.failPermanently(OutboxFailure(code: "x", reason: "y"))
        let entries = [
            message("alice1", 1), message("alice2", 2), waiting, message("bob2", 4, in: Fixtures.theoBob),
            action("accept", 5, .acceptOffer("o1")), failed, message("alice4", 7),
        ]
        #expect(OutboxSchedule.deliverable(entries, at: now).map(\.id) == ["alice1", "alice2", "accept"])
        #expect(
            OutboxSchedule.deliverable(entries, at: now + 30).map(\.id) == [
                "alice1", "alice2", "bob1", "bob2", "accept",
            ])
    }

    @Test func aBackoffDelaysTheEntryAndTheMessagesAfterIt() {
        var first = message("a", 1)
        first.beginAttempt()
        first.failTransiently(OutboxFailure(code: "cannot_connect", reason: ""), retryAt: now + 30)
        let entries = [first, message("b", 2), action("decline", 3, .declineOffer("o"))]
        #expect(OutboxSchedule.deliverable(entries, at: now).map(\.id) == ["decline"])
        #expect(OutboxSchedule.deliverable(entries, at: now + 30).map(\.id) == ["a", "b", "decline"])
    }
}
