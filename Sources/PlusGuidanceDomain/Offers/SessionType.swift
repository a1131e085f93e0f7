import Foundation

/// The kind of Instant Session a therapist offers (R3).
public enum SessionType: String, Sendable, Codable, CaseIterable, Hashable {
    case video
    case voice
    /// An instant-message session.
    case chat

    /// Parses the wire and command-line spelling (`video`, `voice`, `chat`).
    /// - Throws: ``DomainError/unknownSessionType`` for anything else.
    public init(parsing text: String) throws(DomainError) {
        guard let value = SessionType(rawValue: text) else {
            throw DomainError.unknownSessionType.with(detail: "expected video, voice or chat")
        }
        self = value
    }

    /// How people call this type in messages: "video", "voice", "instant message".
    public var displayName: String {
        switch self {
        case .video: "video"
        case .voice: "voice"
        case .chat: "instant message"
        }
    }
}

/// What a therapist chooses when offering an Instant Session (R3).
public struct OfferOptions: Hashable, Sendable, Codable {
    /// Allowed expected durations, in minutes. Five minutes is the shortest useful check-in; four
    /// hours is longer than any therapy session the platform describes.
    public static let durationRange: ClosedRange<Int> = 5...240
    /// How far ahead a start time may be: these are *instant* sessions, so one day at most.
    public static let maximumLeadTime: TimeInterval = 24 * 3_600
    /// A start time this much in the past is still taken as "now", to absorb clock skew between
    /// the therapist's device and the server.
    public static let pastTolerance: TimeInterval = 60

    public var type: SessionType
    /// When the session should start; `nil` means now (the default, R3).
    public var startsAt: Date?
    public var durationMinutes: Int
    /// Whether the client must accept before the session exists (R4) or not (R5).
    public var requiresConfirmation: Bool

    public init(
        type: SessionType, startsAt: Date? = nil, durationMinutes: Int,
        requiresConfirmation: Bool = true
    ) {
        self.type = type
        self.startsAt = startsAt
        self.durationMinutes = durationMinutes
        self.requiresConfirmation = requiresConfirmation
    }

    /// Checks the options against the limits above at server time `now`.
    /// - Throws: ``DomainError/invalidDuration``, ``DomainError/startInPast`` or
    ///   ``DomainError/startTooLate``.
    public func validate(at now: Date) throws(DomainError) {
        guard Self.durationRange.contains(durationMinutes) else {
            throw DomainError.invalidDuration.with(
                detail:
                    "\(durationMinutes) minutes, expected \(Self.durationRange.lowerBound)...\(Self.durationRange.upperBound)"
            )
        }
        if let startsAt {
            guard startsAt >= now - Self.pastTolerance else { throw .startInPast }
            guard startsAt <= now + Self.maximumLeadTime else { throw .startTooLate }
        }
    }
}

/// What a transition asks its caller to do. Transitions are pure: the server performs these
/// effects (assigning ids and server time) in the same transaction that stores the new state.
public enum DomainEffect: Hashable, Sendable {
    /// Post a system message into the pair's conversation.
    case postMessage(MessageDraft)
    /// Create this session; it is new, never seen before.
    case createSession(Session)
}
