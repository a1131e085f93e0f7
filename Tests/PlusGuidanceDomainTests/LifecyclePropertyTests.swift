import Foundation
@_spi(PlusGuidanceTools) import PlusGuidanceDomain
import PropertyBased
import Testing

/// Drives random sequences of offer / accept / decline / expire / stop / clock-advance commands
/// through the Domain's state machines, performing their effects the way the server does, and
/// checks the invariants of R1–R6 after every step.
@Suite struct LifecyclePropertyTests {
    enum Command: CustomStringConvertible {
        case offer(by: User, to: User, confirm: Bool, online: Bool, minutes: Int)
        case accept(offer: Int, by: User)
        case decline(offer: Int, by: User)
        case expire
        case stop(session: Int, by: User)
        case advance(seconds: Int)

        static let people = [Seed.therapist, Seed.other, Seed.alice, Seed.bob, Seed.carol]

        /// Decodes a command from a random number, so the array generator (and its shrinker) can
        /// produce command sequences.
        init(_ n: Int) {
            let person = Self.people[(n / 8) % Self.people.count]
            let index = (n / 64) % 6
            switch n % 8 {
            case 0, 1:
                self = .offer(
                    by: (n / 8) % 7 == 0 ? Seed.other : Seed.therapist,
                    to: Self.people[2 + (n / 64) % 3], confirm: (n / 512) % 4 != 0,
                    online: (n / 2048) % 6 != 0, minutes: [5, 50, 240, 3, 300][(n / 8) % 5])
            case 2: self = .accept(offer: index, by: person)
            case 3: self = .accept(offer: index, by: (n / 8) % 3 == 0 ? person : Seed.alice)
            case 4: self = .decline(offer: index, by: person)
            case 5: self = .expire
            case 6: self = .stop(session: index, by: (n / 8) % 3 == 0 ? person : Seed.therapist)
            default: self = .advance(seconds: [1, 59, 600, 1_799, 3_599, 3_601][index])
            }
        }

        var description: String {
            switch self {
            case .offer(let by, let to, let confirm, let online, let minutes):
                "offer(\(by.name)→\(to.name), confirm: \(confirm), online: \(online), \(minutes)m)"
            case .accept(let offer, let by): "accept(#\(offer) by \(by.name))"
            case .decline(let offer, let by): "decline(#\(offer) by \(by.name))"
            case .expire: "expire"
            case .stop(let session, let by): "stop(#\(session) by \(by.name))"
            case .advance(let seconds): "advance(\(seconds)s)"
            }
        }
    }

    /// The state a server would hold, updated only through the Domain's transitions.
    struct World {
        var now = Seed.t0
        var offers: [SessionOffer] = []
        var sessions: [SessionID: Session] = [:]
        var messages: [MessageDraft] = []
        var acceptances: [OfferID: Int] = [:]
        var everAccepted: Set<OfferID> = []

        mutating func perform(_ effects: [DomainEffect]) {
            for effect in effects {
                switch effect {
                case .postMessage(let draft): messages.append(draft)
                case .createSession(let session):
                    #expect(sessions[session.id] == nil, "a session was created twice")
                    sessions[session.id] = session
                }
            }
        }

        mutating func run(_ command: Command) {
            switch command {
            case .offer(let therapist, let client, let confirm, let online, let minutes):
                let id = OfferID("off_\(offers.count)")
                let options = OfferOptions(type: .video, durationMinutes: minutes, requiresConfirmation: confirm)
                guard
                    let (offer, effects) = try? SessionOffer.make(
                        id: id, by: therapist, to: client.id, relation: Seed.relation(therapist.id, client.id),
                        clientIsOnline: online, options: options, at: now)
                else { return }
                offers.append(offer)
                perform(effects)
            case .accept(let index, let actor):
                guard offers.indices.contains(index) else { return }
                perform(offers[index].expireIfDue(at: now))
                if let effects = try? offers[index].accept(by: actor.id, at: now) {
                    acceptances[offers[index].id, default: 0] += 1
                    everAccepted.insert(offers[index].id)
                    perform(effects)
                }
            case .decline(let index, let actor):
                guard offers.indices.contains(index) else { return }
                perform(offers[index].expireIfDue(at: now))
                if let effects = try? offers[index].decline(by: actor.id, at: now) { perform(effects) }
            case .expire:
                for index in offers.indices { perform(offers[index].expireIfDue(at: now)) }
            case .stop(let index, let actor):
                let ids = sessions.keys.sorted()
                guard ids.indices.contains(index), var session = sessions[ids[index]] else { return }
                if let effects = try? session.stop(by: actor.id, at: now) {
                    sessions[session.id] = session
                    perform(effects)
                }
            case .advance(let seconds):
                now += TimeInterval(seconds)
            }
        }
    }

    static let rank: [SessionOffer.State: Int] = [.pending: 0, .accepted: 1, .declined: 1, .expired: 1]

    static func checkInvariants(before: World, after world: World, command: Command) {
        let context = Comment(rawValue: "after \(command)")
        for (index, offer) in world.offers.enumerated() {
            // An offer is accepted at most once.
            #expect((world.acceptances[offer.id] ?? 0) <= 1, context)
            // An expired or declined offer never has a session.
            if offer.state == .declined || offer.state == .expired {
                #expect(offer.sessionID == nil, context)
                #expect(world.sessions[SessionID(offer: offer.id)] == nil, context)
            }
            // With confirmation required, no session exists without an acceptance.
            if offer.requiresConfirmation {
                #expect(
                    (world.sessions[SessionID(offer: offer.id)] != nil) == world.everAccepted.contains(offer.id),
                    context)
            } else {
                #expect(world.sessions[SessionID(offer: offer.id)] != nil, context)
            }
            // An offer is answered only by its client, so every accepted offer names its session.
            #expect((offer.state == .accepted) == (offer.sessionID != nil), context)
            // States only move forward.
            if before.offers.indices.contains(index) {
                let old = before.offers[index].state
                #expect(old == offer.state || (old == .pending && Self.rank[offer.state] == 1), context)
            }
            // A pending offer is never past its deadline after a sweep of it.
            #expect(offer.expiresAt == offer.createdAt + SessionOffer.answerWindow, context)
        }
        // R1: every offer and session stays inside a real pair.
        #expect(world.offers.allSatisfy { Seed.relations.contains($0.relation) }, context)
        #expect(world.sessions.values.allSatisfy { Seed.relations.contains($0.relation) }, context)
        // Ended sessions are never upcoming, and stay ended.
        let upcoming = Set(world.sessions.values.upcoming(at: world.now).map(\.id))
        for session in world.sessions.values {
            if session.state(at: world.now) == .ended { #expect(!upcoming.contains(session.id), context) }
            if before.sessions[session.id]?.endedAt != nil {
                #expect(session.endedAt == before.sessions[session.id]?.endedAt, context)
                #expect(session.endedBy == session.therapistID, context)
            }
        }
        // Every session was announced to both people exactly once.
        for kind in [MessageKind.sessionReady, .sessionLink] {
            #expect(world.messages.filter { $0.kind == kind }.count == world.sessions.count, context)
        }
        // System messages stay inside their pair.
        #expect(world.messages.allSatisfy { $0.conversationID.relation.includes($0.recipientID) }, context)
    }

    @Test func randomCommandSequencesKeepTheInvariants() async {
        await propertyCheck(count: 4_000, input: Gen.int(in: 0...1_000_000).array(of: 1...60)) { numbers in
            var world = World()
            for command in numbers.map(Command.init) {
                let before = world
                world.run(command)
                Self.checkInvariants(before: before, after: world, command: command)
            }
        }
    }

    @Test func theCommandDecoderReachesEveryCommand() {
        let kinds = Set(
            (0..<4_096).map { n -> String in
                String(String(describing: Command(n)).prefix { $0 != "(" })
            })
        #expect(kinds == ["offer", "accept", "decline", "expire", "stop", "advance"])
    }
}
