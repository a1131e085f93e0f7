import Foundation
@_spi(PlusGuidanceTools) import PlusGuidanceDomain
import PlusGuidanceTesting
import Testing

@_spi(PlusGuidanceTools) @testable import PlusGuidanceSync

/// The event tracker behind `PlusGuidanceClient.events(reminderLead:)`, fed snapshots by hand.
@Suite struct AccountEventTrackerTests {
    let conversation = Fixtures.theoAlice.conversationID
    let contact = Contact(user: Fixtures.alice, presence: Presence(userID: Fixtures.alice.id, isOnline: false))

    func snapshot(
        at seconds: TimeInterval, messages: [Message] = [], offers: [SessionOffer] = [], sessions: [Session] = [],
        online: Bool = false
    ) -> AccountEventTracker.Snapshot {
        var contact = contact
        contact.presence.isOnline = online
        return AccountEventTracker.Snapshot(
            now: Fixtures.epoch + seconds, contacts: [contact], messages: [conversation: messages], offers: offers,
            sessions: sessions)
    }

    @Test func whatWasThereAtTheStartIsNotNewsWhatFollowsIs() {
        var tracker = AccountEventTracker(me: Fixtures.therapist.id, reminderLead: 300)
        let old = Fixtures.message("m1")
        #expect(tracker.update(snapshot(at: 0, messages: [old]), reporting: false).isEmpty)
        let new = Fixtures.message("m2", at: 1)
        var read = old
        read.readAt = Fixtures.epoch + 2
        let events = tracker.update(snapshot(at: 3, messages: [read, new], online: true), reporting: true)
        #expect(events.count == 3)
        #expect(events.contains(.message(read, .changed)))
        #expect(events.contains(.message(new, .new)))
        #expect(events.contains { if case .presence(let c) = $0 { c.presence.isOnline } else { false } })
        #expect(tracker.update(snapshot(at: 4, messages: [read, new], online: true), reporting: true).isEmpty)
    }

    @Test func aScheduledSessionRemindsStartsRunsIntoOvertimeAndEndsOnce() {
        var tracker = AccountEventTracker(me: Fixtures.therapist.id, reminderLead: 300)
        let session = Fixtures.session("s1", startsAt: 1_000)  // starts at epoch + 1000
        let minutes = TimeInterval(session.durationMinutes * 60)
        #expect(tracker.update(snapshot(at: 0), reporting: false).isEmpty)
        #expect(tracker.update(snapshot(at: 1, sessions: [session]), reporting: true) == [.session(session, .ready)])
        #expect(tracker.nextDeadline(after: Fixtures.epoch + 1) == Fixtures.epoch + 700)
        #expect(tracker.update(snapshot(at: 699, sessions: [session]), reporting: true).isEmpty)
        #expect(
            tracker.update(snapshot(at: 700, sessions: [session]), reporting: true) == [.session(session, .reminder)])
        #expect(tracker.nextDeadline(after: Fixtures.epoch + 700) == Fixtures.epoch + 1_000)
        #expect(
            tracker.update(snapshot(at: 1_000, sessions: [session]), reporting: true) == [.session(session, .started)])
        // Overtime counts whole seconds past the expected end.
        #expect(tracker.nextDeadline(after: Fixtures.epoch + 1_000) == Fixtures.epoch + 1_001 + minutes)
        #expect(
            tracker.update(snapshot(at: 1_001 + minutes, sessions: [session]), reporting: true)
                == [.session(session, .overtime)])
        #expect(tracker.nextDeadline(after: Fixtures.epoch + 1_001 + minutes) == nil)
        let ended = tracker.update(snapshot(at: 2_000 + minutes), reporting: true)
        #expect(ended.count == 1)
        if case .session(let s, .ended) = ended.first { #expect(s.endedAt != nil) } else { Issue.record("\(ended)") }
        #expect(tracker.update(snapshot(at: 2_001 + minutes), reporting: true).isEmpty)
    }

    @Test func aClockThatJumpsPastTheStartSkipsTheReminder() {
        var tracker = AccountEventTracker(me: Fixtures.therapist.id, reminderLead: 300)
        let session = Fixtures.session("s1", startsAt: 1_000)
        _ = tracker.update(snapshot(at: 0, sessions: [session]), reporting: false)
        #expect(
            tracker.update(snapshot(at: 1_010, sessions: [session]), reporting: true) == [.session(session, .started)])
    }

    @Test func anOfferIsNewThenChangesWithItsState() {
        var tracker = AccountEventTracker(me: Fixtures.therapist.id, reminderLead: 300)
        _ = tracker.update(snapshot(at: 0), reporting: false)
        let offer = Fixtures.offer("o1")
        #expect(tracker.update(snapshot(at: 1, offers: [offer]), reporting: true) == [.offer(offer, .new)])
        var declined = offer
        declined.state = .declined
        #expect(tracker.update(snapshot(at: 2, offers: [declined]), reporting: true) == [.offer(declined, .changed)])
    }
}
