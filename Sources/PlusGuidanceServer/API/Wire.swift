import Foundation
import PlusGuidanceDomain

// The JSON shapes of Documentation/openapi.yaml, as the server writes and reads them. Keys are
// camelCase with `Id` suffixes; times are RFC 3339 strings in UTC with milliseconds.

enum WireTime {
    static func string(_ date: Date) -> String { RFC3339.string(date) }

    static func date(_ text: String) -> Date? { RFC3339.date(text) }
}

struct UserWire: Codable, Sendable, Equatable {
    var id: String
    var email: String
    var name: String
    var role: String

    init(_ user: User) {
        id = user.id.rawValue
        email = user.email
        name = user.name
        role = user.role.rawValue
    }
}

struct ContactWire: Codable, Sendable {
    var id: String
    var email: String
    var name: String
    var role: String
    var online: Bool
    var lastSeenAt: String?
}

struct MessageWire: Codable, Sendable {
    var id: String
    var conversationId: String
    var senderId: String
    var recipientId: String
    var kind: String
    var body: String
    var createdAt: String
    var offerId: String?
    var sessionId: String?

    init(_ m: Message) {
        id = m.id.rawValue
        conversationId = m.conversationID.rawValue
        senderId = m.senderID.rawValue
        recipientId = m.recipientID.rawValue
        kind = m.kind.rawValue
        body = m.body
        createdAt = WireTime.string(m.createdAt)
        offerId = m.offerID?.rawValue
        sessionId = m.sessionID?.rawValue
    }
}

struct OfferWire: Codable, Sendable {
    var id: String
    var therapistId: String
    var clientId: String
    var type: String
    var startsAt: String?
    var durationMinutes: Int
    var requiresConfirmation: Bool
    var state: String
    var createdAt: String
    var expiresAt: String
    var closedAt: String?
    var sessionId: String?

    init(_ o: SessionOffer) {
        id = o.id.rawValue
        therapistId = o.therapistID.rawValue
        clientId = o.clientID.rawValue
        type = o.type.rawValue
        startsAt = o.startsAt.map(WireTime.string)
        durationMinutes = o.durationMinutes
        requiresConfirmation = o.requiresConfirmation
        state = o.state.rawValue
        createdAt = WireTime.string(o.createdAt)
        expiresAt = WireTime.string(o.expiresAt)
        closedAt = o.closedAt.map(WireTime.string)
        sessionId = o.sessionID?.rawValue
    }
}

struct SessionWire: Codable, Sendable {
    var id: String
    var offerId: String
    var therapistId: String
    var clientId: String
    var type: String
    var startsAt: String
    var durationMinutes: Int
    var endedAt: String?
    var endedBy: String?
    /// Derived at the time of the answer (server clock), for display; clients recompute it.
    var state: String
    var remainingSeconds: Int
    var overtimeSeconds: Int
    var attendPath: String

    init(_ s: Session, at now: Date) {
        let countdown = s.countdown(at: now)
        id = s.id.rawValue
        offerId = s.offerID.rawValue
        therapistId = s.therapistID.rawValue
        clientId = s.clientID.rawValue
        type = s.type.rawValue
        startsAt = WireTime.string(s.startsAt)
        durationMinutes = s.durationMinutes
        endedAt = s.endedAt.map(WireTime.string)
        endedBy = s.endedBy?.rawValue
        state = countdown.state.rawValue
        remainingSeconds = countdown.remainingSeconds
        overtimeSeconds = countdown.overtimeSeconds
        attendPath = s.attendPath
    }
}

/// One entry of the change feed and of the event stream.
struct ChangeWire: Codable, Sendable {
    /// `user`, `message`, `offer` or `session`.
    var entity: String
    var id: String
    /// `upsert` or `delete`.
    var op: String
    var user: UserWire?
    var message: MessageWire?
    var offer: OfferWire?
    var session: SessionWire?
}

struct TokensWire: Codable, Sendable {
    var accessToken: String
    var refreshToken: String
    var tokenType = "Bearer"
    var expiresIn: Int
    var refreshExpiresIn: Int
    var user: UserWire
}

struct MessagesPageWire: Codable, Sendable {
    var messages: [MessageWire]
    var hasMore: Bool
}

struct AnswerWire: Codable, Sendable {
    var offer: OfferWire
    var session: SessionWire?
}

// Requests.

struct LoginRequest: Decodable { var email: String; var password: String }
struct RefreshRequest: Decodable { var refreshToken: String }
struct SendMessageRequest: Decodable { var id: String?; var body: String }
struct CreateOfferRequest: Decodable {
    var clientId: String
    var type: String
    var durationMinutes: Int
    var requiresConfirmation: Bool?
    var startsAt: String?
}
struct AdvanceClockRequest: Decodable { var seconds: Double }
