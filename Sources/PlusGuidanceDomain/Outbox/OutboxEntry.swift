import Foundation

/// The key that makes a user action exactly-once: sent as `Idempotency-Key` on every attempt, so
/// the server stores the first answer and replays it for any retry.
public typealias IdempotencyKey = Identifier<OutboxEntry>

/// A user action the server has not confirmed yet (R8).
///
/// Creating an offer is deliberately *not* an action: it needs the client to be online now, so it
/// can only be done live and fails at once offline, never queued.
public enum OutboxAction: Hashable, Sendable, Codable {
    /// Deliver this text message; its id was assigned on this device and the server keeps it.
    case sendMessage(Message)
    case acceptOffer(OfferID)
    case declineOffer(OfferID)
    case stopSession(SessionID)
    /// Mark the conversation read up to a message (R11). Several queued for one conversation
    /// merge: a new mark replaces the ones still waiting (the latest wins).
    case markRead(ReadMark)
    /// An action the outbox holds but cannot read (a damaged row: its seal or its JSON does not
    /// open). Never sent, never retried: it reads `failed` with ``OutboxFailure/undecodable``
    /// until the user discards it, and holds back the later texts of its conversation (when the
    /// row says which) like any failed text, while every other entry goes out.
    case unreadable(conversation: ConversationID?)

    /// The conversation whose order this action must respect (texts and read receipts, so a
    /// receipt never overtakes a text written before it); `nil` otherwise.
    public var orderingConversation: ConversationID? {
        switch self {
        case .sendMessage(let message): message.conversationID
        case .markRead(let mark): mark.conversationID
        case .unreadable(let conversation): conversation
        case .acceptOffer, .declineOffer, .stopSession: nil
        }
    }
}

/// Why the last attempt of an outbox entry failed, safe to show and to log (no body, no token).
public struct OutboxFailure: Hashable, Sendable, Codable {
    /// A stable code: a ``DomainError`` code, or a transport code such as `cannot_connect`.
    public var code: String
    /// A one-line human explanation.
    public var reason: String

    public init(code: String, reason: String) {
        self.code = code
        self.reason = reason
    }

    /// What an entry the outbox cannot read (``OutboxAction/unreadable(conversation:)``) says.
    public static let undecodable = OutboxFailure(
        code: "undecodable", reason: "this action could not be read from the outbox (a damaged row); discard it")
}

/// One queued user action and its delivery state machine (R8).
///
/// ```
///  enqueue ─▶ pending ──beginAttempt──▶ inFlight ──(server confirmed)──▶ removed from the outbox
///               ▲  ▲                     │   │
///               │  └──failTransiently────┘   └─failPermanently──▶ failed ──retry──▶ pending
///               └──────────recoverAfterCrash (outcome unknown: replay with the same key)
///                                                            failed ──discard──▶ removed
/// ```
/// The key never changes, so every replay is recognised by the server.
public struct OutboxEntry: Identifiable, Hashable, Sendable, Codable {
    public enum State: String, Sendable, Codable, CaseIterable, Hashable {
        case pending
        case inFlight
        case failed
    }

    /// The idempotency key, also the entry's identity.
    public var id: IdempotencyKey
    public var action: OutboxAction
    public var state: State
    /// How many attempts were started.
    public var attempts: Int
    public var lastError: OutboxFailure?
    public var enqueuedAt: Date
    /// Earliest time of the next attempt after a transient failure.
    public var notBefore: Date?
    /// Position in the outbox, assigned by the store on enqueue; defines delivery order.
    public var sequence: Int64
    /// Server time after which the action can only be refused (an accept carries its offer's
    /// expiry): past it the entry fails with `offer_expired` instead of being sent.
    public var deadline: Date?

    public init(
        id: IdempotencyKey, action: OutboxAction, enqueuedAt: Date, state: State = .pending,
        attempts: Int = 0, lastError: OutboxFailure? = nil, notBefore: Date? = nil,
        sequence: Int64 = 0, deadline: Date? = nil
    ) {
        self.id = id
        self.action = action
        self.state = state
        self.attempts = attempts
        self.lastError = lastError
        self.enqueuedAt = enqueuedAt
        self.notBefore = notBefore
        self.sequence = sequence
        self.deadline = deadline
    }

    /// Whether an attempt may start at `now`.
    public func isDue(at now: Date) -> Bool {
        state == .pending && (notBefore.map { now >= $0 } ?? true)
    }

    /// `pending` → `inFlight`. Returns `false`, changing nothing, from any other state.
    @discardableResult
    public mutating func beginAttempt() -> Bool {
        guard state == .pending else { return false }
        state = .inFlight
        attempts += 1
        return true
    }

    /// `inFlight` → `pending`, to be tried again not before `retryAt` with the same key.
    public mutating func failTransiently(_ failure: OutboxFailure, retryAt: Date) {
        guard state == .inFlight else { return }
        state = .pending
        lastError = failure
        notBefore = retryAt
    }

    /// `inFlight` → `failed`: the server refused for good. The entry stays visible (R8).
    public mutating func failPermanently(_ failure: OutboxFailure) {
        guard state == .inFlight else { return }
        state = .failed
        lastError = failure
        notBefore = nil
    }

    /// `pending` → `failed` with `offer_expired` when server time `serverNow` is past the
    /// entry's ``deadline``: the server could only refuse it, so it is not sent. Returns whether
    /// it failed; before the deadline (or without one) nothing changes, nothing is guessed.
    @discardableResult
    public mutating func failIfPastDeadline(serverNow: Date) -> Bool {
        guard state == .pending, let deadline, serverNow > deadline else { return false }
        state = .failed
        lastError = OutboxFailure(
            code: DomainError.offerExpired.code, reason: DomainError.offerExpired.shortDescription)
        notBefore = nil
        return true
    }

    /// `pending` → `pending` without an attempt: an earlier attempt of the same round found the
    /// server unreachable, so this entry waits too, with that failure as its reason and the same
    /// retry time. `attempts` does not change.
    public mutating func deferBehindOutage(_ failure: OutboxFailure, retryAt: Date?) {
        guard state == .pending else { return }
        lastError = failure
        notBefore = retryAt
    }

    /// `failed` → `pending`, on the user's request. Keeps the key and the last error.
    @discardableResult
    public mutating func retry() -> Bool {
        guard state == .failed else { return false }
        if case .unreadable = action { return false }
        state = .pending
        notBefore = nil
        return true
    }

    /// `inFlight` → `pending` after a crash or restart: the answer was lost, so the outcome is
    /// unknown and the same key is replayed, never guessed.
    public mutating func recoverAfterCrash() {
        guard state == .inFlight else { return }
        state = .pending
        notBefore = nil
    }

    /// The message this entry delivers, shown in the conversation as pending or failed until the
    /// server's copy arrives.
    public var outgoingMessage: Message? {
        guard case .sendMessage(var message) = action else { return nil }
        message.deliveryState = state == .failed ? .failed : .pending
        return message
    }
}
