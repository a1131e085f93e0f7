import Foundation
@_spi(PlusGuidanceTools) import PlusGuidanceDomain

/// The seed accounts of BRIEF.md, as Domain values.
enum Seed {
    static let therapist = User(id: "usr_t", email: "therapist@example.com", name: "Theo", role: .therapist)
    static let alice = User(id: "usr_alice", email: "alice@example.com", name: "Alice", role: .client)
    static let bob = User(id: "usr_bob", email: "bob@example.com", name: "Bob", role: .client)
    static let other = User(id: "usr_o", email: "other@example.com", name: "Olga", role: .therapist)
    static let carol = User(id: "usr_carol", email: "carol@example.com", name: "Carol", role: .client)

    static let theoAlice = CareRelation(therapistID: therapist.id, clientID: alice.id)
    static let theoBob = CareRelation(therapistID: therapist.id, clientID: bob.id)
    static let olgaCarol = CareRelation(therapistID: other.id, clientID: carol.id)
    static let relations = [theoAlice, theoBob, olgaCarol]

    static func relation(_ therapist: UserID, _ client: UserID) -> CareRelation? {
        relations.first { $0.therapistID == therapist && $0.clientID == client }
    }

    static let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    static func offer(
        _ id: OfferID = "off_1", to client: User = alice, confirm: Bool = true, minutes: Int = 50,
        startsAt: Date? = nil, at now: Date = t0
    ) throws(DomainError) -> (offer: SessionOffer, effects: [DomainEffect]) {
        try SessionOffer.make(
            id: id, by: therapist, to: client.id, relation: relation(therapist.id, client.id),
            clientIsOnline: true,
            options: OfferOptions(
                type: .video, startsAt: startsAt, durationMinutes: minutes, requiresConfirmation: confirm),
            at: now)
    }
}

extension Array where Element == DomainEffect {
    var drafts: [MessageDraft] {
        compactMap { if case .postMessage(let draft) = $0 { draft } else { nil } }
    }

    var sessions: [Session] {
        compactMap { if case .createSession(let session) = $0 { session } else { nil } }
    }
}
