import Foundation
@_spi(PlusGuidanceTools) import PlusGuidanceDomain
import Testing

@Suite struct OutboxEntryTests {
    func textEntry(_ key: IdempotencyKey = "k1", body: String = "hi", at: Date = Seed.t0) throws -> OutboxEntry {
        let message = try Message.text(
            id: MessageID("msg_" + key.rawValue), from: Seed.alice.id, to: Seed.therapist.id,
            within: Seed.theoAlice, body: body, at: at, deliveryState: .pending)
        return OutboxEntry(id: key, action: .sendMessage(message), enqueuedAt: at)
    }

    let failure = OutboxFailure(code: "cannot_connect", reason: "connection refused")

    @Test func anAttemptMovesPendingToInFlightAndCountsIt() throws {
        var entry = try textEntry()
        #expect(entry.isDue(at: Seed.t0))
        let began = entry.beginAttempt()
        #expect(began)
        #expect(entry.state == .inFlight)
        #expect(entry.attempts == 1)
        let beganAgain = entry.beginAttempt()
        #expect(!beganAgain)
        #expect(entry.attempts == 1)
    }

    @Test func aTransientFailureRetriesLaterWithTheSameKey() throws {
        var entry = try textEntry()
        _ = entry.beginAttempt()
        entry.failTransiently(failure, retryAt: Seed.t0 + 30)
        #expect(entry.state == .pending)
        #expect(entry.id == "k1")
        #expect(entry.lastError == failure)
        #expect(!entry.isDue(at: Seed.t0 + 29))
        #expect(entry.isDue(at: Seed.t0 + 30))
    }

    @Test func aPermanentFailureStaysVisibleUntilRetried() throws {
        var entry = try textEntry()
        _ = entry.beginAttempt()
        entry.failPermanently(OutboxFailure(code: "offer_expired", reason: "Offer has expired"))
        #expect(entry.state == .failed)
        #expect(!entry.isDue(at: Seed.t0 + 99_999))
        #expect(entry.outgoingMessage?.deliveryState == .failed)
        let retried = entry.retry()
        #expect(retried)
        #expect(entry.state == .pending)
        #expect(entry.outgoingMessage?.deliveryState == .pending)
        let retriedAgain = entry.retry()
        #expect(!retriedAgain)
    }

    @Test func aCrashLeavesNoEntryInFlight() throws {
        var entry = try textEntry()
        _ = entry.beginAttempt()
        entry.recoverAfterCrash()
        #expect(entry.state == .pending)
        #expect(entry.attempts == 1)
        #expect(entry.isDue(at: Seed.t0))
    }

    @Test func transitionsFromTheWrongStateChangeNothing() throws {
        var entry = try textEntry()
        let pending = entry
        entry.failPermanently(failure)
        entry.failTransiently(failure, retryAt: Seed.t0)
        entry.recoverAfterCrash()
        #expect(entry == pending)
    }

    @Test func offersCannotBeQueuedOnlyAnsweredAndStopped() {
        let actions: [OutboxAction] = [.acceptOffer("o"), .declineOffer("o"), .stopSession("s")]
        #expect(actions.allSatisfy { $0.orderingConversation == nil })
    }

    @Test func aConversationMergesServerMessagesWithOutgoingOnes() throws {
        let sent = try Message.text(
            id: "msg_server", from: Seed.therapist.id, to: Seed.alice.id, within: Seed.theoAlice,
            body: "From the server", at: Seed.t0)
        let queued = try textEntry("k2", at: Seed.t0 + 5)
        var confirmed = try textEntry("k3", at: Seed.t0 + 6)
        confirmed.action = .sendMessage(try #require(confirmed.outgoingMessage))
        let confirmedCopy = Message(
            id: "msg_k3", conversationID: Seed.theoAlice.conversationID, senderID: Seed.alice.id,
            recipientID: Seed.therapist.id, kind: .text, body: "hi", createdAt: Seed.t0 + 7)
        let elsewhere = OutboxEntry(
            id: "k4",
            action: .sendMessage(
                try Message.text(
                    id: "msg_k4", from: Seed.bob.id, to: Seed.therapist.id, within: Seed.theoBob, body: "b", at: Seed.t0
                )),
            enqueuedAt: Seed.t0)
        let merged = [sent, confirmedCopy].merging(
            outbox: [queued, confirmed, elsewhere], in: Seed.theoAlice.conversationID)
        #expect(merged.map(\.id) == ["msg_k3", "msg_k2", "msg_server"])
        #expect(merged.map(\.deliveryState) == [.sent, .pending, .sent])
    }
}
