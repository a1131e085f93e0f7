import Foundation
@_spi(PlusGuidanceTools) import PlusGuidanceDomain

// The JSON shapes of Documentation/openapi.yaml, written once: the reference server encodes
// them and the SDK decodes them. Keys are camelCase with `Id` suffixes; times are RFC 3339
// strings in UTC with milliseconds, kept as strings here and parsed when mapped to Domain values
// (``WireContract``), so a malformed time fails the mapping with a reason instead of the decoder.
//
// Decoding is strict about what the contract requires and tolerant of members it does not know.

@_spi(PlusGuidanceTools) public struct UserWire: Codable, Sendable, Equatable {
    @_spi(PlusGuidanceTools) public var id: String
    @_spi(PlusGuidanceTools) public var email: String
    @_spi(PlusGuidanceTools) public var name: String
    @_spi(PlusGuidanceTools) public var role: String
}

extension UserWire {
    @_spi(PlusGuidanceTools) public init(_ user: User) {
        id = user.id.rawValue
        email = user.email
        name = user.name
        role = user.role.rawValue
    }
}

@_spi(PlusGuidanceTools) public struct ContactWire: Codable, Sendable {
    @_spi(PlusGuidanceTools) public var id: String
    @_spi(PlusGuidanceTools) public var email: String
    @_spi(PlusGuidanceTools) public var name: String
    @_spi(PlusGuidanceTools) public var role: String
    @_spi(PlusGuidanceTools) public var online: Bool
    @_spi(PlusGuidanceTools) public var lastSeenAt: String?

    @_spi(PlusGuidanceTools) public init(_ user: User, online: Bool, lastSeenAt: Date?) {
        id = user.id.rawValue
        email = user.email
        name = user.name
        role = user.role.rawValue
        self.online = online
        self.lastSeenAt = lastSeenAt.map(RFC3339.string)
    }
}

@_spi(PlusGuidanceTools) public struct MessageWire: Codable, Sendable, Equatable {
    @_spi(PlusGuidanceTools) public var id: String
    @_spi(PlusGuidanceTools) public var conversationId: String
    @_spi(PlusGuidanceTools) public var senderId: String
    @_spi(PlusGuidanceTools) public var recipientId: String
    @_spi(PlusGuidanceTools) public var kind: String
    @_spi(PlusGuidanceTools) public var body: String
    @_spi(PlusGuidanceTools) public var createdAt: String
    @_spi(PlusGuidanceTools) public var offerId: String?
    @_spi(PlusGuidanceTools) public var sessionId: String?
    /// When the recipient read it; absent or null while unread.
    @_spi(PlusGuidanceTools) public var readAt: String?
}

extension MessageWire {
    @_spi(PlusGuidanceTools) public init(_ m: Message) {
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
@_spi(PlusGuidanceTools) public struct ReadPositionWire: Codable, Sendable, Equatable {
    @_spi(PlusGuidanceTools) public var conversationId: String
    @_spi(PlusGuidanceTools) public var readerId: String
    @_spi(PlusGuidanceTools) public var messageId: String
    /// The read message's creation time: every message created at or before it is read.
    @_spi(PlusGuidanceTools) public var upTo: String
    @_spi(PlusGuidanceTools) public var readAt: String
}

extension ReadPositionWire {
    @_spi(PlusGuidanceTools) public init(_ p: ReadPosition) {
        conversationId = p.conversationID.rawValue
        readerId = p.readerID.rawValue
        messageId = p.messageID.rawValue
        upTo = RFC3339.string(p.upTo)
        readAt = RFC3339.string(p.readAt)
    }

    /// The feed entry id of a read position: one per reader per conversation.
    @_spi(PlusGuidanceTools) public static func entityID(_ conversation: ConversationID, _ reader: UserID) -> String {
        "\(conversation.rawValue)/\(reader.rawValue)"
    }
}

@_spi(PlusGuidanceTools) public struct OfferWire: Codable, Sendable, Equatable {
    @_spi(PlusGuidanceTools) public var id: String
    @_spi(PlusGuidanceTools) public var therapistId: String
    @_spi(PlusGuidanceTools) public var clientId: String
    @_spi(PlusGuidanceTools) public var type: String
    @_spi(PlusGuidanceTools) public var startsAt: String?
    @_spi(PlusGuidanceTools) public var durationMinutes: Int
    @_spi(PlusGuidanceTools) public var requiresConfirmation: Bool
    @_spi(PlusGuidanceTools) public var state: String
    @_spi(PlusGuidanceTools) public var createdAt: String
    @_spi(PlusGuidanceTools) public var expiresAt: String
    @_spi(PlusGuidanceTools) public var closedAt: String?
    @_spi(PlusGuidanceTools) public var sessionId: String?
}

extension OfferWire {
    @_spi(PlusGuidanceTools) public init(_ o: SessionOffer) {
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

@_spi(PlusGuidanceTools) public struct SessionWire: Codable, Sendable, Equatable {
    @_spi(PlusGuidanceTools) public var id: String
    @_spi(PlusGuidanceTools) public var offerId: String
    @_spi(PlusGuidanceTools) public var therapistId: String
    @_spi(PlusGuidanceTools) public var clientId: String
    @_spi(PlusGuidanceTools) public var type: String
    @_spi(PlusGuidanceTools) public var startsAt: String
    @_spi(PlusGuidanceTools) public var durationMinutes: Int
    @_spi(PlusGuidanceTools) public var endedAt: String?
    @_spi(PlusGuidanceTools) public var endedBy: String?
    /// Derived at the time of the answer (server clock), for display; clients recompute them
    /// from the members above and so do not need them. The server always writes them.
    @_spi(PlusGuidanceTools) public var state: String?
    @_spi(PlusGuidanceTools) public var remainingSeconds: Int?
    @_spi(PlusGuidanceTools) public var overtimeSeconds: Int?
    @_spi(PlusGuidanceTools) public var attendPath: String?
}

extension SessionWire {
    @_spi(PlusGuidanceTools) public init(_ s: Session, at now: Date) {
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
@_spi(PlusGuidanceTools) public struct ChangeWire: Codable, Sendable, Equatable {
    /// `user`, `message`, `offer`, `session` or `read`.
    @_spi(PlusGuidanceTools) public var entity: String
    @_spi(PlusGuidanceTools) public var id: String
    /// `upsert` or `delete`.
    @_spi(PlusGuidanceTools) public var op: String
    @_spi(PlusGuidanceTools) public var user: UserWire?
    @_spi(PlusGuidanceTools) public var message: MessageWire?
    @_spi(PlusGuidanceTools) public var offer: OfferWire?
    @_spi(PlusGuidanceTools) public var session: SessionWire?
    @_spi(PlusGuidanceTools) public var read: ReadPositionWire?
    @_spi(PlusGuidanceTools) public init(_ change: Change, at now: Date) {
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

    @_spi(PlusGuidanceTools) public init(
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
@_spi(PlusGuidanceTools) public struct FeedPageWire: Codable, Sendable, Equatable {
    @_spi(PlusGuidanceTools) public var changes: [ChangeWire]
    @_spi(PlusGuidanceTools) public var cursor: String
    @_spi(PlusGuidanceTools) public var hasMore: Bool
    @_spi(PlusGuidanceTools) public var remaining: Int?
    @_spi(PlusGuidanceTools) public init(changes: [ChangeWire], cursor: String, hasMore: Bool, remaining: Int?) {
        self.changes = changes
        self.cursor = cursor
        self.hasMore = hasMore
        self.remaining = remaining
    }
}

/// A live `presence` event's data.
@_spi(PlusGuidanceTools) public struct PresenceWire: Codable, Sendable {
    @_spi(PlusGuidanceTools) public var userId: String
    @_spi(PlusGuidanceTools) public var online: Bool

    @_spi(PlusGuidanceTools) public init(userId: String, online: Bool) {
        self.userId = userId
        self.online = online
    }
}

@_spi(PlusGuidanceTools) public struct TokensWire: Codable, Sendable {
    @_spi(PlusGuidanceTools) public var accessToken: String
    @_spi(PlusGuidanceTools) public var refreshToken: String
    @_spi(PlusGuidanceTools) public var tokenType: String? = "Bearer"
    @_spi(PlusGuidanceTools) public var expiresIn: Int
    @_spi(PlusGuidanceTools) public var refreshExpiresIn: Int
    @_spi(PlusGuidanceTools) public var user: UserWire

    @_spi(PlusGuidanceTools) public init(
        accessToken: String, refreshToken: String, expiresIn: Int, refreshExpiresIn: Int, user: UserWire
    ) {
        self.accessToken = accessToken
        self.refreshToken = refreshToken
        self.expiresIn = expiresIn
        self.refreshExpiresIn = refreshExpiresIn
        self.user = user
    }
}

@_spi(PlusGuidanceTools) public struct MessagesPageWire: Codable, Sendable {
    @_spi(PlusGuidanceTools) public var messages: [MessageWire]
    @_spi(PlusGuidanceTools) public var hasMore: Bool

    @_spi(PlusGuidanceTools) public init(messages: [MessageWire], hasMore: Bool) {
        self.messages = messages
        self.hasMore = hasMore
    }
}

/// The answer to accepting or declining an offer.
@_spi(PlusGuidanceTools) public struct AnswerWire: Codable, Sendable {
    @_spi(PlusGuidanceTools) public var offer: OfferWire
    @_spi(PlusGuidanceTools) public var session: SessionWire?

    @_spi(PlusGuidanceTools) public init(offer: OfferWire, session: SessionWire?) {
        self.offer = offer
        self.session = session
    }
}

@_spi(PlusGuidanceTools) public struct ContactsWire: Codable, Sendable {
    @_spi(PlusGuidanceTools) public var contacts: [ContactWire]
    @_spi(PlusGuidanceTools) public init(contacts: [ContactWire]) { self.contacts = contacts }
}

@_spi(PlusGuidanceTools) public struct OffersWire: Codable, Sendable {
    @_spi(PlusGuidanceTools) public var offers: [OfferWire]
    @_spi(PlusGuidanceTools) public init(offers: [OfferWire]) { self.offers = offers }
}

@_spi(PlusGuidanceTools) public struct SessionsWire: Codable, Sendable {
    @_spi(PlusGuidanceTools) public var sessions: [SessionWire]
    @_spi(PlusGuidanceTools) public init(sessions: [SessionWire]) { self.sessions = sessions }
}
