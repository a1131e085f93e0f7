import Foundation
@_spi(PlusGuidanceTools) import PlusGuidanceDomain
import Testing

@Suite struct OfferCreationTests {
    @Test func offerWithConfirmationIsPendingAndPostsTheOfferToTheClient() throws {
        let (offer, effects) = try Seed.offer()
        #expect(offer.state == .pending)
        #expect(offer.expiresAt == Seed.t0 + 3_600)
        #expect(offer.sessionID == nil)
        #expect(effects.sessions.isEmpty)
        let drafts = effects.drafts
        #expect(drafts.map(\.kind) == [.sessionOffer])
        #expect(drafts.first?.recipientID == Seed.alice.id)
        #expect(drafts.first?.senderID == Seed.therapist.id)
        #expect(drafts.first?.offerID == offer.id)
        #expect(drafts.first?.conversationID == Seed.theoAlice.conversationID)
    }

    @Test func noConfirmationCreatesTheSessionAndBothAttendLinksAtOnce() throws {
        let (offer, effects) = try Seed.offer(confirm: false)
        #expect(offer.state == .accepted)
        let session = try #require(effects.sessions.first)
        #expect(effects.sessions.count == 1)
        #expect(offer.sessionID == session.id)
        #expect(session.id == SessionID(offer: offer.id))
        #expect(session.startsAt == Seed.t0)
        #expect(session.durationMinutes == 50)
        let byKind = Dictionary(uniqueKeysWithValues: effects.drafts.map { ($0.kind, $0) })
        #expect(byKind[.sessionReady]?.recipientID == Seed.alice.id)
        #expect(byKind[.sessionReady]?.body == "Your session is now ready. Click here to attend.")
        #expect(byKind[.sessionLink]?.recipientID == Seed.therapist.id)
        #expect(byKind[.sessionReady]?.sessionID == session.id)
        #expect(byKind[.sessionLink]?.sessionID == session.id)
        #expect(byKind[.sessionOffer] == nil)
    }

    @Test func aClientCannotOffer() {
        #expect(throws: DomainError.therapistOnly) {
            try SessionOffer.make(
                id: "off_x", by: Seed.alice, to: Seed.bob.id, relation: nil, clientIsOnline: true,
                options: OfferOptions(type: .voice, durationMinutes: 30), at: Seed.t0)
        }
    }

    @Test func aTherapistCannotOfferToAnotherTherapistsClient() {
        #expect(throws: DomainError.notYourClient) {
            try SessionOffer.make(
                id: "off_x", by: Seed.therapist, to: Seed.carol.id,
                relation: Seed.relation(Seed.therapist.id, Seed.carol.id), clientIsOnline: true,
                options: OfferOptions(type: .voice, durationMinutes: 30), at: Seed.t0)
        }
        // A relation that belongs to someone else does not authorise either.
        #expect(throws: DomainError.notYourClient) {
            try SessionOffer.make(
                id: "off_x", by: Seed.therapist, to: Seed.carol.id, relation: Seed.olgaCarol,
                clientIsOnline: true, options: OfferOptions(type: .voice, durationMinutes: 30),
                at: Seed.t0)
        }
    }

    @Test func anOfflineClientCannotBeOffered() {
        #expect(throws: DomainError.clientOffline) {
            try SessionOffer.make(
                id: "off_x", by: Seed.therapist, to: Seed.alice.id, relation: Seed.theoAlice,
                clientIsOnline: false, options: OfferOptions(type: .chat, durationMinutes: 30),
                at: Seed.t0)
        }
    }

    @Test(arguments: [-5, 0, 4, 241, 10_000])
    func durationsOutsideTheRangeAreRefused(minutes: Int) {
        #expect(throws: DomainError.invalidDuration) { try Seed.offer(minutes: minutes) }
    }

    @Test(arguments: [5, 50, 240])
    func durationsInsideTheRangeAreTaken(minutes: Int) throws {
        #expect(try Seed.offer(minutes: minutes).offer.durationMinutes == minutes)
    }

    @Test func startTimesAreCheckedAgainstServerTime() throws {
        #expect(throws: DomainError.startInPast) { try Seed.offer(startsAt: Seed.t0 - 61) }
        #expect(throws: DomainError.startTooLate) { try Seed.offer(startsAt: Seed.t0 + 86_401) }
        // Within the skew tolerance, and up to a day ahead, is fine.
        #expect(try Seed.offer(startsAt: Seed.t0 - 60).offer.startsAt == Seed.t0 - 60)
        #expect(try Seed.offer(startsAt: Seed.t0 + 86_400).offer.startsAt == Seed.t0 + 86_400)
    }

    @Test func aLaterStartTimeIsKeptForTheSession() throws {
        let start = Seed.t0 + 1_800
        var (offer, _) = try Seed.offer(startsAt: start)
        let session = try #require(try offer.accept(by: Seed.alice.id, at: Seed.t0 + 60).sessions.first)
        #expect(session.startsAt == start)
        #expect(session.state(at: Seed.t0 + 60) == .scheduled)
    }

    @Test func aStartTimeThatPassedBeforeAcceptanceStartsAtAcceptance() throws {
        var (offer, _) = try Seed.offer(startsAt: Seed.t0 + 60)
        let accepted = Seed.t0 + 600
        let session = try #require(try offer.accept(by: Seed.alice.id, at: accepted).sessions.first)
        #expect(session.startsAt == accepted)
    }

    @Test func unknownSessionTypesAreRefused() throws {
        #expect(throws: DomainError.unknownSessionType) { try SessionType(parsing: "hologram") }
        #expect(try SessionType(parsing: "chat") == .chat)
        #expect(SessionType.allCases.map(\.rawValue) == ["video", "voice", "chat"])
    }
}

@Suite struct OfferAnswerTests {
    @Test func acceptingAt59m59sCreatesTheSessionAndBothLinks() throws {
        var (offer, _) = try Seed.offer()
        let effects = try offer.accept(by: Seed.alice.id, at: Seed.t0 + 3_599)
        #expect(offer.state == .accepted)
        #expect(offer.closedAt == Seed.t0 + 3_599)
        #expect(effects.sessions.map(\.id) == [SessionID(offer: offer.id)])
        #expect(offer.sessionID == SessionID(offer: offer.id))
        #expect(Set(effects.drafts.map(\.kind)) == [.sessionReady, .sessionLink])
        #expect(effects.drafts.first { $0.kind == .sessionReady }?.recipientID == Seed.alice.id)
        #expect(effects.drafts.first { $0.kind == .sessionLink }?.recipientID == Seed.therapist.id)
    }

    @Test func acceptingAtExactlyOneHourIsStillInTime() throws {
        var (offer, _) = try Seed.offer()
        #expect(offer.expireIfDue(at: Seed.t0 + 3_600).isEmpty)
        _ = try offer.accept(by: Seed.alice.id, at: Seed.t0 + 3_600)
        #expect(offer.state == .accepted)
    }

    @Test func acceptingAt60m01sIsRefusedAsExpiredWithoutASession() throws {
        var (offer, _) = try Seed.offer()
        let before = offer
        #expect(throws: DomainError.offerExpired) {
            try offer.accept(by: Seed.alice.id, at: Seed.t0 + 3_601)
        }
        #expect(offer == before)
        #expect(offer.isOverdue(at: Seed.t0 + 3_601))
    }

    @Test func decliningAfterTheDeadlineIsRefusedAsExpired() throws {
        var (offer, _) = try Seed.offer()
        #expect(throws: DomainError.offerExpired) {
            try offer.decline(by: Seed.alice.id, at: Seed.t0 + 3_601)
        }
        #expect(offer.state == .pending)
    }

    @Test func anUnansweredOfferExpiresAfterAnHourAndTellsTheTherapist() throws {
        var (offer, _) = try Seed.offer()
        #expect(offer.expireIfDue(at: Seed.t0 + 3_600).isEmpty)
        #expect(offer.state == .pending)
        let effects = offer.expireIfDue(at: Seed.t0 + 3_601)
        #expect(offer.state == .expired)
        #expect(offer.closedAt == offer.expiresAt)
        #expect(effects.sessions.isEmpty)
        #expect(effects.drafts.map(\.kind) == [.offerExpired])
        #expect(effects.drafts.first?.recipientID == Seed.therapist.id)
        // Sweeping again changes nothing and posts nothing.
        #expect(offer.expireIfDue(at: Seed.t0 + 99_999).isEmpty)
        #expect(throws: DomainError.offerExpired) { try offer.accept(by: Seed.alice.id, at: Seed.t0 + 3_602) }
        #expect(offer.sessionID == nil)
    }

    @Test func aDeclinedOfferCreatesNoSessionAndTellsTheTherapist() throws {
        var (offer, _) = try Seed.offer()
        let effects = try offer.decline(by: Seed.alice.id, at: Seed.t0 + 120)
        #expect(offer.state == .declined)
        #expect(offer.sessionID == nil)
        #expect(effects.sessions.isEmpty)
        #expect(effects.drafts.map(\.kind) == [.offerDeclined])
        #expect(effects.drafts.first?.recipientID == Seed.therapist.id)
        #expect(offer.expireIfDue(at: Seed.t0 + 10_000).isEmpty)
        #expect(offer.state == .declined)
    }

    @Test func aSecondAcceptIsRefused() throws {
        var (offer, _) = try Seed.offer()
        _ = try offer.accept(by: Seed.alice.id, at: Seed.t0 + 10)
        #expect(throws: DomainError.offerAlreadyAnswered) {
            try offer.accept(by: Seed.alice.id, at: Seed.t0 + 20)
        }
        #expect(offer.closedAt == Seed.t0 + 10)
    }

    @Test func acceptAfterDeclineAndDeclineAfterAcceptAreRefused() throws {
        var (declined, _) = try Seed.offer()
        _ = try declined.decline(by: Seed.alice.id, at: Seed.t0 + 10)
        #expect(throws: DomainError.offerAlreadyAnswered) {
            try declined.accept(by: Seed.alice.id, at: Seed.t0 + 20)
        }
        #expect(declined.state == .declined)

        var (accepted, _) = try Seed.offer()
        _ = try accepted.accept(by: Seed.alice.id, at: Seed.t0 + 10)
        #expect(throws: DomainError.offerAlreadyAnswered) {
            try accepted.decline(by: Seed.alice.id, at: Seed.t0 + 20)
        }
        #expect(accepted.state == .accepted)
    }

    @Test func anOfferWithoutConfirmationCannotBeAnsweredAgain() throws {
        var (offer, _) = try Seed.offer(confirm: false)
        #expect(throws: DomainError.offerAlreadyAnswered) {
            try offer.accept(by: Seed.alice.id, at: Seed.t0 + 1)
        }
    }

    @Test(arguments: [Seed.bob.id, Seed.therapist.id, Seed.carol.id, Seed.other.id])
    func onlyTheOfferedClientMayAnswer(actor: UserID) throws {
        var (offer, _) = try Seed.offer()
        #expect(throws: DomainError.notOfferRecipient) { try offer.accept(by: actor, at: Seed.t0 + 1) }
        #expect(throws: DomainError.notOfferRecipient) { try offer.decline(by: actor, at: Seed.t0 + 1) }
        #expect(offer.state == .pending)
    }
}
