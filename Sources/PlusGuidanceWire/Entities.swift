import Foundation
import PlusGuidanceDomain

// The JSON shapes of Documentation/openapi.yaml, written once: the reference server encodes
// them and the SDK decodes them. Keys are camelCase with `Id` suffixes; times are RFC 3339
// strings in UTC with milliseconds, kept as strings here and parsed when mapped to Domain values
// (``WireContract``), so a malformed time fails the mapping with a reason instead of the decoder.
//
// Decoding is strict about what the contract requires and tolerant of members it does not know.

package struct UserWire: Codable, Sendable, Equatable {
    package var id: String
    package var email: String
    package var name: String
    package var role: String
}

extension UserWire {
    package init(_ user: User) {
        id = user.id.rawValue
        email = user.email
        name = user.name
        role = user.role.rawValue
    }
}

package struct ContactWire: Codable, Sendable {
    package var id: String
    package var email: String
    package var name: String
    package var role: String
    package var online: Bool
    package var lastSeenAt: String?

    package init(_ user: User, online: Bool, lastSeenAt: Date?) {
        id = user.id.rawValue
        email = user.email
        name = user.name
        role = user.role.rawValue
        self.online = online
        self.lastSeenAt = lastSeenAt.map(RFC3339.string)
    }
}

package struct MessageWire: Codable, Sendable, Equatable {
    package var id: String
    package var conversationId: String
    package var senderId: String
    package var recipientId: String
    package var kind: String
    package var body: String
    package var createdAt: String
    package var offerId: String?
    package var sessionId: String?
    /// When the recipient read it; absent or null while unread.
    package var readAt: String?
}

extension MessageWire {
    package init(_ m: Message) {
        id = m.id.rawValue
        conversationId = m.conversationID.rawValue
        senderId = m.senderID.rawValue
        recipientId = m.recipientID.rawValue
        kind = m.kind.rawValue
        body = m.body
        createdAt = RFC3339.string(m.createdAt)
        offerId = m.offerID?.rawValue
        sessionId = m.sessionID?.rawValue
        readAt = m.readAt.map(RFC3339.string)
    }
}

/// A person's read position in a conversation (R11).
package struct ReadPositionWire: Codable, Sendable, Equatable {
    package var conversationId: String
    package var readerId: String
    package var messageId: String
    /// The read message's creation time: every message created at or before it is read.
    package var upTo: String
    package var readAt: String
}

extension ReadPositionWire {
    package init(_ p: ReadPosition) {
        conversationId = p.conversationID.rawValue
        readerId = p.readerID.rawValue
        messageId = p.messageID.rawValue
        upTo = RFC3339.string(p.upTo)
        readAt = RFC3339.string(p.readAt)
    }

    /// The feed entry id of a read position: one per reader per conversation.
    package static func entityID(_ conversation: ConversationID, _ reader: UserID) -> String {
        "\(conversation.rawValue)/\(reader.rawValue)"
    }
}

package struct OfferWire: Codable, Sendable, Equatable {
    package var id: String
    package var therapistId: String
    package var clientId: String
    package var type: String
    package var startsAt: String?
    package var durationMinutes: Int
    package var requiresConfirmation: Bool
    package var state: String
    package var createdAt: String
    package var expiresAt: String
    package var closedAt: String?
    package var sessionId: String?
}

extension OfferWire {
    package init(_ o: SessionOffer) {
        id = o.id.rawValue
        therapistId = o.therapistID.rawValue
        clientId = o.clientID.rawValue
        type = o.type.rawValue
        startsAt = o.startsAt.map(RFC3339.string)
        durationMinutes = o.durationMinutes
        requiresConfirmation = o.requiresConfirmation
        state = o.state.rawValue
        createdAt = RFC3339.string(o.createdAt)
        expiresAt = RFC3339.string(o.expiresAt)
        closedAt = o.closedAt.map(RFC3339.string)
        sessionId = o.sessionID?.rawValue
    }
}

package struct SessionWire: Codable, Sendable, Equatable {
    package var id: String
    package var offerId: String
    package var therapistId: String
    package var clientId: String
    package var type: String
    package var startsAt: String
    package var durationMinutes: Int
    package var endedAt: String?
    package var endedBy: String?
    /// Derived at the time of the answer (server clock), for display; clients recompute them
    /// from the members above and so do not need them. The server always writes them.
    package var state: String?
    package var remainingSeconds: Int?
    package var overtimeSeconds: Int?
    package var attendPath: String?
}

extension SessionWire {
    package init(_ s: Session, at now: Date) {
        let countdown = s.countdown(at: now)
        id = s.id.rawValue
        offerId = s.offerID.rawValue
        therapistId = s.therapistID.rawValue
        clientId = s.clientID.rawValue
        type = s.type.rawValue
        startsAt = RFC3339.string(s.startsAt)
        durationMinutes = s.durationMinutes
        endedAt = s.endedAt.map(RFC3339.string)
        endedBy = s.endedBy?.rawValue
        state = countdown.state.rawValue
        remainingSeconds = countdown.remainingSeconds
        overtimeSeconds = countdown.overtimeSeconds
        attendPath = s.attendPath
    }
}

/// One entry of the change feed and of the event stream.
package struct ChangeWire: Codable, Sendable, Equatable {
    /// `user`, `message`, `offer`, `session` or `read`.
    package var entity: String
    package var id: String
    /// `upsert` or `delete`.
    package var op: String
    package var user: UserWire?
    package var message: MessageWire?
    package var offer: OfferWire?
    package var session: SessionWire?
    package var read: ReadPositionWire?
    package init(_ change: Change, at now: Date) {
        switch change {
        case .user(let value): self.init(entity: "user", id: value.id.rawValue, op: "upsert", user: UserWire(value))
        case .message(let value):
            self.init(entity: "message", id: value.id.rawValue, op: "upsert", message: MessageWire(value))
        case .offer(let value): self.init(entity: "offer", id: value.id.rawValue, op: "upsert", offer: OfferWire(value))
        case .session(let value):
            self.init(entity: "session", id: value.id.rawValue, op: "upsert", session: SessionWire(value, at: now))
        case .read(let value):
            self.init(
                entity: "read", id: ReadPositionWire.entityID(value.conversationID, value.readerID), op: "upsert",
                read: ReadPositionWire(value))
        case .deleted(let ref):
            let (entity, id): (String, String) =
                switch ref {
                case .user(let id): ("user", id.rawValue)
                case .message(let id): ("message", id.rawValue)
                case .offer(let id): ("offer", id.rawValue)
                case .session(let id): ("session", id.rawValue)
                }
            self.init(entity: entity, id: id, op: "delete")
        }
    }

    package init(
        entity: String, id: String, op: String, user: UserWire? = nil, message: MessageWire? = nil,
        offer: OfferWire? = nil, session: SessionWire? = nil, read: ReadPositionWire? = nil
    ) {
        self.entity = entity
        self.id = id
        self.op = op
        self.user = user
        self.message = message
        self.offer = offer
        self.session = session
        self.read = read
    }
}

/// A page of `GET /v1/changes`.
package struct FeedPageWire: Codable, Sendable, Equatable {
    package var changes: [ChangeWire]
    package var cursor: String
    package var hasMore: Bool
    package var remaining: Int?
    package init(changes: [ChangeWire], cursor: String, hasMore: Bool, remaining: Int?) {
        self.changes = changes
        self.cursor = cursor
        self.hasMore = hasMore
        self.remaining = remaining
    }
}

/// A live `presence` event's data.
package struct PresenceWire: Codable, Sendable {
    package var userId: String
    package var online: Bool

    package init(userId: String, online: Bool) {
        self.userId = userId
        self.online = online
    }
}

package struct TokensWire: Codable, Sendable {
    package var accessToken: String
    package var refreshToken: String
    package var tokenType: String? = "Bearer"
    package var expiresIn: Int
    package var refreshExpiresIn: Int
    package var user: UserWire

    package init(accessToken: String, refreshToken: String, expiresIn: Int, refreshExpiresIn: Int, user: UserWire) {
        self.accessToken = accessToken
        self.refreshToken = refreshToken
        self.expiresIn = expiresIn
        self.refreshExpiresIn = refreshExpiresIn
        self.user = user
    }
}

package struct MessagesPageWire: Codable, Sendable {
    package var messages: [MessageWire]
    package var hasMore: Bool

    package init(messages: [MessageWire], hasMore: Bool) {
        self.messages = messages
        self.hasMore = hasMore
    }
}

/// The answer to accepting or declining an offer.
package struct AnswerWire: Codable, Sendable {
    package var offer: OfferWire
    package var session: SessionWire?

    package init(offer: OfferWire, session: SessionWire?) {
        self.offer = offer
        self.session = session
    }
}

package struct ContactsWire: Codable, Sendable {
    package var contacts: [ContactWire]
    package init(contacts: [ContactWire]) { self.contacts = contacts }
}

package struct OffersWire: Codable, Sendable {
    package var offers: [OfferWire]
    package init(offers: [OfferWire]) { self.offers = offers }
}

package struct SessionsWire: Codable, Sendable {
    package var sessions: [SessionWire]
    package init(sessions: [SessionWire]) { self.sessions = sessions }
}
