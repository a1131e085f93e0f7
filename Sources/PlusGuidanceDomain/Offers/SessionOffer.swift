import Foundation

/// An Instant Session offered by a therapist to one of their clients, and its lifecycle (R3–R5).
///
/// The offer is a plain-struct state machine. Its transitions validate the rules, move the state
/// forward and return the ``DomainEffect``s to perform; they never perform I/O.
///
/// ```
///            make (confirmation)          accept ≤ expiresAt
///   ─────────────────────────▶ pending ─────────────────────▶ accepted ─▶ session
///                                 │  decline ≤ expiresAt
///                                 ├───────────────────────▶ declined   (no session)
///                                 │  expireIfDue > expiresAt
///                                 └───────────────────────▶ expired    (no session)
///   make (no confirmation) ─────────────────────────────────▶ accepted ─▶ session
/// ```
///
/// "Server time decides" (R4): every `now` passed in must be the server's clock.
public struct SessionOffer: Identifiable, Hashable, Sendable, Codable {
    /// How long a client has to answer: one hour (R4). An answer at exactly `expiresAt` is still
    /// in time; "over 1 hour" is too late.
    public static let answerWindow: TimeInterval = 3_600

    /// Where the offer stands. States only move forward: `pending` to one of the other three.
    public enum State: String, Sendable, Codable, CaseIterable, Hashable {
        case pending
        case accepted
        case declined
        case expired

        /// Whether the state is final.
        public var isTerminal: Bool { self != .pending }
    }

    public var id: OfferID
    public var therapistID: UserID
    public var clientID: UserID
    public var type: SessionType
    /// The requested start, `nil` for "now".
    public var startsAt: Date?
    public var durationMinutes: Int
    public var requiresConfirmation: Bool
    public var state: State
    public var createdAt: Date
    /// `createdAt` plus ``answerWindow``.
    public var expiresAt: Date
    /// When the client accepted or declined, or when the offer expired.
    public var closedAt: Date?
    /// The session this offer produced; set only in the `accepted` state.
    public var sessionID: SessionID?

    public init(
        id: OfferID, therapistID: UserID, clientID: UserID, type: SessionType, startsAt: Date?,
        durationMinutes: Int, requiresConfirmation: Bool, state: State, createdAt: Date,
        expiresAt: Date, closedAt: Date? = nil, sessionID: SessionID? = nil
    ) {
        self.id = id
        self.therapistID = therapistID
        self.clientID = clientID
        self.type = type
        self.startsAt = startsAt
        self.durationMinutes = durationMinutes
        self.requiresConfirmation = requiresConfirmation
        self.state = state
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.closedAt = closedAt
        self.sessionID = sessionID
    }

    public var relation: CareRelation { CareRelation(therapistID: therapistID, clientID: clientID) }

    /// Whether the offer is pending but past its deadline at `now`, so that
    /// ``expireIfDue(at:)`` would expire it.
    public func isOverdue(at now: Date) -> Bool { state == .pending && now > expiresAt }
}

extension SessionOffer {
    /// Creates an offer from `therapist` to `clientID` (R1–R5).
    ///
    /// Checks, in this order: the actor is a therapist, the client is theirs (`relation` is the
    /// pair the caller found, `nil` if none), the options are valid, the client is online now.
    /// With confirmation the offer is `pending` and the client gets a `sessionOffer` message;
    /// without, the session exists at once and both people get their attend link.
    ///
    /// - Throws: ``DomainError/therapistOnly``, ``DomainError/notYourClient``, the option errors
    ///   of ``OfferOptions/validate(at:)``, ``DomainError/clientOffline``.
    public static func make(
        id: OfferID, by therapist: User, to clientID: UserID, relation: CareRelation?,
        clientIsOnline: Bool, options: OfferOptions, at now: Date
    ) throws(DomainError) -> (offer: SessionOffer, effects: [DomainEffect]) {
        guard therapist.role == .therapist else { throw .therapistOnly }
        guard let relation, relation.therapistID == therapist.id, relation.clientID == clientID
        else { throw .notYourClient }
        try options.validate(at: now)
        guard clientIsOnline else { throw .clientOffline }

        var offer = SessionOffer(
            id: id, therapistID: therapist.id, clientID: clientID, type: options.type,
            startsAt: options.startsAt, durationMinutes: options.durationMinutes,
            requiresConfirmation: options.requiresConfirmation, state: .pending, createdAt: now,
            expiresAt: now + answerWindow)

        guard options.requiresConfirmation else {
            let effects = offer.open(at: now)
            return (offer, effects)
        }
        let note = MessageDraft(
            in: relation, to: clientID, kind: .sessionOffer,
            body: "Your therapist offers a \(offer.type.displayName) session of "
                + "\(offer.durationMinutes) minutes. Accept or decline within an hour.",
            offerID: id)
        return (offer, [.postMessage(note)])
    }

    /// The client accepts (R4): the session is created and both people get their attend link.
    ///
    /// Callers sweep with ``expireIfDue(at:)`` before answering, so an overdue offer is stored as
    /// expired; `accept` itself also refuses an overdue pending offer, without changing it.
    ///
    /// - Throws: ``DomainError/notOfferRecipient`` when `actor` is not the offered client,
    ///   ``DomainError/offerExpired`` after the deadline, ``DomainError/offerAlreadyAnswered``
    ///   when accepted or declined before.
    public mutating func accept(
        by actor: UserID, at now: Date
    ) throws(DomainError)
        -> [DomainEffect]
    {
        try checkAnswerable(by: actor, at: now)
        return open(at: now)
    }

    /// The client declines (R4): the therapist is told, and no session ever exists.
    ///
    /// - Throws: as ``accept(by:at:)``.
    public mutating func decline(
        by actor: UserID, at now: Date
    ) throws(DomainError)
        -> [DomainEffect]
    {
        try checkAnswerable(by: actor, at: now)
        state = .declined
        closedAt = now
        let note = MessageDraft(
            in: relation, to: therapistID, kind: .offerDeclined,
            body: "Your client declined the \(type.displayName) session offer.", offerID: id)
        return [.postMessage(note)]
    }

    /// Cancels a pending offer that had no answer for over an hour (R4). Returns no effects, and
    /// changes nothing, when the offer is not pending or not yet overdue.
    public mutating func expireIfDue(at now: Date) -> [DomainEffect] {
        guard isOverdue(at: now) else { return [] }
        state = .expired
        closedAt = expiresAt
        let note = MessageDraft(
            in: relation, to: therapistID, kind: .offerExpired,
            body: "The \(type.displayName) session offer had no answer within an hour and was cancelled.",
            offerID: id)
        return [.postMessage(note)]
    }

    private func checkAnswerable(by actor: UserID, at now: Date) throws(DomainError) {
        guard actor == clientID else { throw .notOfferRecipient }
        switch state {
        case .pending: break
        case .expired: throw .offerExpired
        case .accepted, .declined: throw .offerAlreadyAnswered
        }
        guard now <= expiresAt else { throw .offerExpired }
    }

    /// Moves to `accepted` and creates the one session this offer can produce.
    private mutating func open(at now: Date) -> [DomainEffect] {
        let session = Session(
            id: SessionID(offer: id), offerID: id, therapistID: therapistID, clientID: clientID,
            type: type, startsAt: max(startsAt ?? now, now), durationMinutes: durationMinutes)
        state = .accepted
        closedAt = now
        sessionID = session.id
        let ready = MessageDraft(
            in: relation, to: clientID, kind: .sessionReady,
            body: "Your session is now ready. Click here to attend.", sessionID: session.id)
        let link = MessageDraft(
            in: relation, to: therapistID, kind: .sessionLink,
            body: "Your \(type.displayName) session with your client is ready. Click here to attend.",
            sessionID: session.id)
        return [.createSession(session), .postMessage(ready), .postMessage(link)]
    }
}
