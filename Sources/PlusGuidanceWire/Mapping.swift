import Foundation
@_spi(PlusGuidanceTools) import PlusGuidanceDomain

// Wire shapes to Domain values, checked against ``WireContract``: a value that does not map
// fails the whole answer (or feed page) with a ``WireError``, never a crash, and never reaches
// the cache.

private typealias C = WireContract

extension UserWire {
    @_spi(PlusGuidanceTools) public func domain() throws(WireError) -> User {
        User(
            id: UserID(try C.identifier(id, "user id")), email: try C.identifier(email, "email"),
            name: try C.identifier(name, "name"), role: try C.value(role, "role"))
    }
}

extension ContactWire {
    @_spi(PlusGuidanceTools) public func domain() throws(WireError) -> Contact {
        let user = try UserWire(id: id, email: email, name: name, role: role).domain()
        let lastSeen: Date? =
            switch lastSeenAt {
            case .some(let text): try C.time(text, "lastSeenAt")
            case .none: nil
            }
        return Contact(user: user, presence: Presence(userID: user.id, isOnline: online, lastSeenAt: lastSeen))
    }
}

extension MessageWire {
    @_spi(PlusGuidanceTools) public func domain() throws(WireError) -> Message {
        guard let conversation = ConversationID(rawValue: conversationId) else {
            throw WireError("malformed conversationId")
        }
        return Message(
            id: MessageID(try C.identifier(id, "message id")), conversationID: conversation,
            senderID: UserID(try C.identifier(senderId, "senderId")),
            recipientID: UserID(try C.identifier(recipientId, "recipientId")),
            kind: try C.value(kind, "message kind"), body: try C.check(body, bytes: C.bodyBytes, "body"),
            createdAt: try C.time(createdAt, "createdAt"),
            offerID: try optional(offerId) { text throws(WireError) in OfferID(try C.identifier(text, "offerId")) },
            sessionID: try optional(sessionId) { text throws(WireError) in
                SessionID(try C.identifier(text, "sessionId"))
            },
            deliveryState: .sent,
            readAt: try optional(readAt) { text throws(WireError) in try C.time(text, "readAt") })
    }
}

extension ReadPositionWire {
    @_spi(PlusGuidanceTools) public func domain() throws(WireError) -> ReadPosition {
        guard let conversation = ConversationID(rawValue: conversationId) else {
            throw WireError("malformed conversationId")
        }
        let reader = UserID(try C.identifier(readerId, "readerId"))
        guard conversation.therapistID == reader || conversation.clientID == reader else {
            throw WireError("readerId is not one of the conversation's pair")
        }
        return ReadPosition(
            conversationID: conversation, readerID: reader,
            messageID: MessageID(try C.identifier(messageId, "messageId")),
            upTo: try C.time(upTo, "upTo"), readAt: try C.time(readAt, "readAt"))
    }
}

extension OfferWire {
    @_spi(PlusGuidanceTools) public func domain() throws(WireError) -> SessionOffer {
        SessionOffer(
            id: OfferID(try C.identifier(id, "offer id")),
            therapistID: UserID(try C.identifier(therapistId, "therapistId")),
            clientID: UserID(try C.identifier(clientId, "clientId")), type: try C.value(type, "session type"),
            startsAt: try optional(startsAt) { text throws(WireError) in try C.time(text, "startsAt") },
            durationMinutes: try C.check(durationMinutes, in: C.durationMinutes, "durationMinutes"),
            requiresConfirmation: requiresConfirmation, state: try C.value(state, "offer state"),
            createdAt: try C.time(createdAt, "createdAt"), expiresAt: try C.time(expiresAt, "expiresAt"),
            closedAt: try optional(closedAt) { text throws(WireError) in try C.time(text, "closedAt") },
            sessionID: try optional(sessionId) { text throws(WireError) in
                SessionID(try C.identifier(text, "sessionId"))
            })
    }
}

extension SessionWire {
    @_spi(PlusGuidanceTools) public func domain() throws(WireError) -> Session {
        Session(
            id: SessionID(try C.identifier(id, "session id")), offerID: OfferID(try C.identifier(offerId, "offerId")),
            therapistID: UserID(try C.identifier(therapistId, "therapistId")),
            clientID: UserID(try C.identifier(clientId, "clientId")), type: try C.value(type, "session type"),
            startsAt: try C.time(startsAt, "startsAt"),
            durationMinutes: try C.check(durationMinutes, in: C.durationMinutes, "durationMinutes"),
            endedAt: try optional(endedAt) { text throws(WireError) in try C.time(text, "endedAt") },
            endedBy: try optional(endedBy) { text throws(WireError) in UserID(try C.identifier(text, "endedBy")) })
    }
}

extension ChangeWire {
    @_spi(PlusGuidanceTools) public func domain() throws(WireError) -> Change {
        let id = try C.identifier(id, "change id")
        switch (op, entity) {
        case ("delete", "user"): return .deleted(.user(UserID(id)))
        case ("delete", "message"): return .deleted(.message(MessageID(id)))
        case ("delete", "offer"): return .deleted(.offer(OfferID(id)))
        case ("delete", "session"): return .deleted(.session(SessionID(id)))
        case ("upsert", "user"):
            guard let user else { break }
            return .user(try user.domain())
        case ("upsert", "message"):
            guard let message else { break }
            return .message(try message.domain())
        case ("upsert", "offer"):
            guard let offer else { break }
            return .offer(try offer.domain())
        case ("upsert", "session"):
            guard let session else { break }
            return .session(try session.domain())
        case ("upsert", "read"):
            guard let read else { break }
            return .read(try read.domain())
        default: break
        }
        throw WireError("unusable change (\(op) \(entity))")
    }
}

extension FeedPageWire {
    @_spi(PlusGuidanceTools) public func domain() throws(WireError) -> ChangePage {
        var mapped: [Change] = []
        mapped.reserveCapacity(changes.count)
        for change in changes { mapped.append(try change.domain()) }
        return ChangePage(
            changes: mapped, cursor: FeedCursor(try C.identifier(cursor, "cursor")), hasMore: hasMore,
            remaining: try optional(remaining) { count throws(WireError) in
                try C.check(count, in: 0...Int.max, "remaining")
            })
    }
}

extension TokensWire {
    /// The tokens, checked, and the signed-in user.
    @_spi(PlusGuidanceTools) public func domain() throws(WireError) -> (
        accessToken: String, refreshToken: String, user: User
    ) {
        _ = try C.check(expiresIn, in: C.tokenLifetimeSeconds, "expiresIn")
        _ = try C.check(refreshExpiresIn, in: C.tokenLifetimeSeconds, "refreshExpiresIn")
        return (
            try C.check(accessToken, bytes: C.tokenBytes, "accessToken"),
            try C.check(refreshToken, bytes: C.tokenBytes, "refreshToken"), try user.domain()
        )
    }
}

extension AnswerWire {
    @_spi(PlusGuidanceTools) public func domain() throws(WireError) -> (SessionOffer, Session?) {
        (try offer.domain(), try optional(session) { wire throws(WireError) in try wire.domain() })
    }
}

extension PresenceWire {
    @_spi(PlusGuidanceTools) public func domain() throws(WireError) -> (UserID, online: Bool) {
        (UserID(try C.identifier(userId, "userId")), online)
    }
}

extension Array {
    /// Maps every element, failing on the first that does not map.
    @_spi(PlusGuidanceTools) public func domain<T>(
        _ transform: (Element) throws(WireError) -> T
    ) throws(WireError) -> [T] {
        var mapped: [T] = []
        mapped.reserveCapacity(count)
        for element in self { mapped.append(try transform(element)) }
        return mapped
    }
}

/// `Optional.map` with a typed error.
private func optional<T, U>(_ value: T?, _ transform: (T) throws(WireError) -> U) throws(WireError) -> U? {
    guard let value else { return nil }
    return try transform(value)
}
