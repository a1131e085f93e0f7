import Foundation

/// An Instant Session that exists: created at once (R5) or confirmed by the client (R4).
///
/// Its state is derived from the clock and from whether the therapist stopped it, never stored:
/// `scheduled` before `startsAt`, `inProgress` from then on, including overtime after the
/// expected duration (R6), and `ended` only once the therapist presses Stop.
public struct Session: Identifiable, Hashable, Sendable, Codable {
    /// Where a session stands at a given time.
    public enum State: String, Sendable, Codable, CaseIterable, Hashable {
        case scheduled
        case inProgress
        case ended
    }

    public var id: SessionID
    /// The offer that produced this session.
    public var offerID: OfferID
    public var therapistID: UserID
    public var clientID: UserID
    public var type: SessionType
    public var startsAt: Date
    /// The expected duration the countdown runs down (R6); the session may run longer.
    public var durationMinutes: Int
    /// When the therapist stopped it, `nil` while it has not ended.
    public var endedAt: Date?
    /// Who stopped it (always the session's therapist).
    public var endedBy: UserID?

    public init(
        id: SessionID, offerID: OfferID, therapistID: UserID, clientID: UserID,
        type: SessionType, startsAt: Date, durationMinutes: Int, endedAt: Date? = nil,
        endedBy: UserID? = nil
    ) {
        self.id = id
        self.offerID = offerID
        self.therapistID = therapistID
        self.clientID = clientID
        self.type = type
        self.startsAt = startsAt
        self.durationMinutes = durationMinutes
        self.endedAt = endedAt
        self.endedBy = endedBy
    }

    public var relation: CareRelation { CareRelation(therapistID: therapistID, clientID: clientID) }

    /// When the countdown reaches zero; the session does not end there (R6).
    /// In floating point: no duration, however far outside the contract, can overflow it.
    public var scheduledEnd: Date { startsAt + TimeInterval(durationMinutes) * 60 }

    /// The path of the attend link shown in `sessionReady` and `sessionLink` messages.
    public var attendPath: String { "/sessions/\(id.rawValue)/attend" }

    public func state(at now: Date) -> State {
        if endedAt != nil { return .ended }
        return now < startsAt ? .scheduled : .inProgress
    }

    /// R7: created or confirmed and not ended. Every stored session was created or confirmed.
    public func isUpcoming(at now: Date) -> Bool { state(at: now) != .ended }

    /// The session window's countdown at `now` (R6). See ``SessionCountdown``.
    public func countdown(at now: Date) -> SessionCountdown {
        let reference = endedAt.map { min($0, now) } ?? now
        let clamped = max(reference, startsAt)
        let toEnd = scheduledEnd.timeIntervalSince(clamped)
        return SessionCountdown(
            state: state(at: now),
            remainingSeconds: Self.seconds(toEnd.rounded(.up)),
            overtimeSeconds: Self.seconds((-toEnd).rounded(.down)),
            startsInSeconds: Self.seconds(startsAt.timeIntervalSince(now).rounded(.up)))
    }

    /// Whole seconds, at least zero, for any interval: `Int(_:)` traps on values it cannot hold
    /// (a cached record from outside the contract must not crash a read).
    private static func seconds(_ interval: TimeInterval) -> Int {
        guard interval.isFinite, interval > 0 else { return 0 }
        return interval < 1e15 ? Int(interval) : Int(1e15)
    }

    /// The therapist stops the session (R6). Only the session's therapist can; once ended it
    /// stays ended. Stopping a session that has not started yet cancels it.
    ///
    /// - Throws: ``DomainError/notSessionTherapist``, ``DomainError/sessionAlreadyEnded``.
    public mutating func stop(
        by actor: UserID, at now: Date
    ) throws(DomainError)
        -> [DomainEffect]
    {
        guard actor == therapistID else { throw .notSessionTherapist }
        guard endedAt == nil else { throw .sessionAlreadyEnded }
        endedAt = now
        endedBy = actor
        let note = MessageDraft(
            in: relation, to: clientID, kind: .sessionEnded,
            body: "The \(type.displayName) session has ended.", sessionID: id)
        return [.postMessage(note)]
    }
}

/// What the session window shows at a moment (R6): time left on the countdown, then overtime.
///
/// Before the start the countdown shows the full duration and ``startsInSeconds`` counts to the
/// start; after Stop it stays frozen at the values it had when the therapist stopped.
public struct SessionCountdown: Hashable, Sendable, Codable {
    public var state: Session.State
    /// Seconds left of the expected duration, rounded up; zero once in overtime.
    public var remainingSeconds: Int
    /// Seconds past the expected duration, rounded down; zero before.
    public var overtimeSeconds: Int
    /// Seconds until the start; zero once started.
    public var startsInSeconds: Int

    public init(state: Session.State, remainingSeconds: Int, overtimeSeconds: Int, startsInSeconds: Int) {
        self.state = state
        self.remainingSeconds = remainingSeconds
        self.overtimeSeconds = overtimeSeconds
        self.startsInSeconds = startsInSeconds
    }

    /// Whether the session runs past its expected duration.
    public var isOvertime: Bool { overtimeSeconds > 0 }
}

extension Sequence<Session> {
    /// The upcoming sessions at `now` (R7): not ended, ordered by start time, then id.
    public func upcoming(at now: Date) -> [Session] {
        filter { $0.isUpcoming(at: now) }
            .sorted { ($0.startsAt, $0.id) < ($1.startsAt, $1.id) }
    }
}
