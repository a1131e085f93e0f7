import Foundation
@_spi(PlusGuidanceTools) import PlusGuidanceDomain
import Testing

@Suite struct SessionTests {
    func session(startsAt: Date = Seed.t0, minutes: Int = 50) -> Session {
        Session(
            id: "ses_1", offerID: "off_1", therapistID: Seed.therapist.id, clientID: Seed.alice.id,
            type: .voice, startsAt: startsAt, durationMinutes: minutes)
    }

    @Test func theCountdownRunsDownTheExpectedDuration() {
        let s = session()
        #expect(
            s.countdown(at: Seed.t0)
                == SessionCountdown(state: .inProgress, remainingSeconds: 3_000, overtimeSeconds: 0, startsInSeconds: 0)
        )
        #expect(s.countdown(at: Seed.t0 + 2_249.5).remainingSeconds == 751)
        #expect(
            s.countdown(at: Seed.t0 + 3_000)
                == SessionCountdown(state: .inProgress, remainingSeconds: 0, overtimeSeconds: 0, startsInSeconds: 0))
    }

    @Test func atZeroTheSessionGoesOnInOvertime() {
        let s = session()
        let countdown = s.countdown(at: Seed.t0 + 3_190)
        #expect(countdown.state == .inProgress)
        #expect(countdown.remainingSeconds == 0)
        #expect(countdown.overtimeSeconds == 190)
        #expect(countdown.isOvertime)
        #expect(s.isUpcoming(at: Seed.t0 + 86_400 * 30))
    }

    @Test func beforeItsStartTheSessionIsScheduledWithTheFullCountdown() {
        let s = session(startsAt: Seed.t0 + 600)
        let countdown = s.countdown(at: Seed.t0)
        #expect(countdown.state == .scheduled)
        #expect(countdown.remainingSeconds == 3_000)
        #expect(countdown.startsInSeconds == 600)
        #expect(s.state(at: Seed.t0 + 600) == .inProgress)
    }

    @Test func onlyTheSessionsTherapistCanStopIt() throws {
        var s = session()
        for actor in [Seed.alice.id, Seed.bob.id, Seed.other.id] {
            #expect(throws: DomainError.notSessionTherapist) { try s.stop(by: actor, at: Seed.t0 + 60) }
        }
        #expect(s.state(at: Seed.t0 + 60) == .inProgress)
        let effects = try s.stop(by: Seed.therapist.id, at: Seed.t0 + 3_300)
        #expect(s.state(at: Seed.t0 + 3_300) == .ended)
        #expect(s.endedAt == Seed.t0 + 3_300)
        #expect(s.endedBy == Seed.therapist.id)
        #expect(effects.drafts.map(\.kind) == [.sessionEnded])
        #expect(effects.drafts.first?.recipientID == Seed.alice.id)
        #expect(effects.drafts.first?.sessionID == s.id)
    }

    @Test func aStoppedSessionStaysEndedAndItsCountdownFreezes() throws {
        var s = session()
        _ = try s.stop(by: Seed.therapist.id, at: Seed.t0 + 3_300)
        #expect(throws: DomainError.sessionAlreadyEnded) { try s.stop(by: Seed.therapist.id, at: Seed.t0 + 4_000) }
        #expect(s.endedAt == Seed.t0 + 3_300)
        let later = s.countdown(at: Seed.t0 + 9_000)
        #expect(later.state == .ended)
        #expect(later.overtimeSeconds == 300)
        #expect(!s.isUpcoming(at: Seed.t0 + 3_300))
    }

    @Test func upcomingSessionsAreTheUnendedOnesOrderedByStart() throws {
        var ended = session(startsAt: Seed.t0)
        _ = try ended.stop(by: Seed.therapist.id, at: Seed.t0 + 10)
        var later = session(startsAt: Seed.t0 + 900)
        later.id = "ses_later"
        var overtime = session(startsAt: Seed.t0 - 7_200, minutes: 5)
        overtime.id = "ses_overtime"
        var sameStart = session(startsAt: Seed.t0 + 900)
        sameStart.id = "ses_a"
        ended.id = "ses_ended"
        let upcoming = [later, ended, overtime, sameStart].upcoming(at: Seed.t0 + 60)
        #expect(upcoming.map(\.id) == ["ses_overtime", "ses_a", "ses_later"])
    }

    @Test func theAttendPathNamesTheSession() {
        #expect(session().attendPath == "/sessions/ses_1/attend")
    }
}

@Suite struct PresenceTests {
    let policy = PresencePolicy()

    @Test func aLiveConnectionMeansOnline() {
        #expect(policy.isOnline(liveConnections: 1, lastActivityAt: nil, at: Seed.t0))
    }

    @Test func aRecentRequestMeansOnlineUntilTheWindowPasses() {
        let seen = Seed.t0
        #expect(policy.isOnline(liveConnections: 0, lastActivityAt: seen, at: seen + 60))
        #expect(!policy.isOnline(liveConnections: 0, lastActivityAt: seen, at: seen + 61))
        #expect(!policy.isOnline(liveConnections: 0, lastActivityAt: nil, at: seen))
        #expect(PresencePolicy(window: 5).isOnline(liveConnections: 0, lastActivityAt: seen, at: seen + 5))
        #expect(!PresencePolicy(window: 5).isOnline(liveConnections: 0, lastActivityAt: seen, at: seen + 6))
    }
}

@Suite struct ClockTests {
    @Test func aManualClockOnlyMovesForward() {
        let clock = ManualWallClock(Seed.t0)
        clock.advance(by: 90)
        clock.advance(by: -1_000)
        #expect(clock.now() == Seed.t0 + 90)
        clock.advance(to: Seed.t0)
        #expect(clock.now() == Seed.t0 + 90)
        clock.advance(to: Seed.t0 + 100)
        #expect(clock.now() == Seed.t0 + 100)
    }

    @Test func anOffsetClockShowsTheServersTime() {
        let clock = OffsetWallClock(base: ManualWallClock(Seed.t0), offset: -7_200)
        #expect(clock.now() == Seed.t0 - 7_200)
    }
}
