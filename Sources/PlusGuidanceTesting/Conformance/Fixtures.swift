import Foundation
@_spi(PlusGuidanceTools) import PlusGuidanceDomain

/// Ready-made Domain values for tests: the seed accounts of the reference server's `--seed demo`
/// and helpers to build messages, offers and sessions around them.
public enum Fixtures {
    public static let therapist = User(
        id: "usr_therapist", email: "therapist@example.com", name: "Theo Therapist", role: .therapist)
    public static let alice = User(id: "usr_alice", email: "alice@example.com", name: "Alice", role: .client)
    public static let bob = User(id: "usr_bob", email: "bob@example.com", name: "Bob", role: .client)
    public static let other = User(id: "usr_other", email: "other@example.com", name: "Olga Other", role: .therapist)
    public static let carol = User(id: "usr_carol", email: "carol@example.com", name: "Carol", role: .client)

    public static let theoAlice = CareRelation(therapistID: therapist.id, clientID: alice.id)
    public static let theoBob = CareRelation(therapistID: therapist.id, clientID: bob.id)

    /// A fixed instant with whole milliseconds, so stores with millisecond precision round-trip it.
    public static let epoch = Date(timeIntervalSince1970: 1_800_000_000)

    /// A text message in `relation`, from the client unless `fromTherapist`.
    public static func message(
        _ id: String, in relation: CareRelation = theoAlice, at offset: TimeInterval = 0,
        body: String = "Hello", fromTherapist: Bool = false
    ) -> Message {
        let sender = fromTherapist ? relation.therapistID : relation.clientID
        return Message(
            id: MessageID(id), conversationID: relation.conversationID, senderID: sender,
            recipientID: relation.counterpart(of: sender)!, kind: .text, body: body,
            createdAt: epoch + offset)
    }

    public static func session(
        _ id: String, in relation: CareRelation = theoAlice, startsAt offset: TimeInterval = 0,
        minutes: Int = 50, endedAt: TimeInterval? = nil
    ) -> Session {
        Session(
            id: SessionID(id), offerID: OfferID("off_" + id), therapistID: relation.therapistID,
            clientID: relation.clientID, type: .video, startsAt: epoch + offset,
            durationMinutes: minutes, endedAt: endedAt.map { epoch + $0 },
            endedBy: endedAt == nil ? nil : relation.therapistID)
    }

    public static func offer(
        _ id: String, in relation: CareRelation = theoAlice, at offset: TimeInterval = 0,
        state: SessionOffer.State = .pending
    ) -> SessionOffer {
        SessionOffer(
            id: OfferID(id), therapistID: relation.therapistID, clientID: relation.clientID,
            type: .voice, startsAt: nil, durationMinutes: 30, requiresConfirmation: true,
            state: state, createdAt: epoch + offset, expiresAt: epoch + offset + SessionOffer.answerWindow,
            closedAt: state == .pending ? nil : epoch + offset + 60,
            sessionID: state == .accepted ? SessionID(offer: OfferID(id)) : nil)
    }

    /// An outbox entry delivering a text message.
    public static func sendEntry(_ key: String, body: String = "Queued", at offset: TimeInterval = 0) -> OutboxEntry {
        var message = message("msg_" + key, at: offset, body: body)
        message.deliveryState = .pending
        return OutboxEntry(id: IdempotencyKey(key), action: .sendMessage(message), enqueuedAt: epoch + offset)
    }
}
