import Foundation
import GRDB
@_spi(PlusGuidanceTools) import PlusGuidanceDomain
@_spi(PlusGuidanceTools) import PlusGuidanceWire

/// The state-changing commands, each inside the caller's write transaction: the Domain
/// transition, its effects and its feed entries.
extension ServerStore {
    /// Stores a text and its feed entry; returns it with its JSON (`MessageWire`), encoded once
    /// for both the feed entry and the command's answer.
    func sendMessage(
        _ db: Database, from user: User, to peer: UserID, id: String?, body: String
    ) throws -> (message: Message, json: Data) {
        guard let relation = try Self.relation(user, peer, db) else { throw APIError.notFound }
        let messageID = MessageID(id ?? BearerToken.identifier("msg"))
        if try Bool.fetchOne(
            db.cachedStatement(sql: "SELECT EXISTS (SELECT 1 FROM message WHERE id = ?)"),
            arguments: [messageID.rawValue])
            == true
        {
            throw APIError.messageIDTaken
        }
        let message = try Message.text(
            id: messageID, from: user.id, to: peer, within: relation, body: body,
            at: try Self.nextMessageTime(in: relation.conversationID, now: clock.now(), db))
        try ServerRows.insert(message, db)
        let json = try JSONEncoder().encode(MessageWire(message))
        try record(.message(message), in: relation, encoded: json, db)
        return (message, json)
    }

    /// `user` read the conversation with `peer` up to `messageID` (R11). The position only moves
    /// forward; when it does, every message to `user` it passes gets `readAt`, and the position
    /// and those messages go to the pair's feed. Returns the position after the mark.
    /// - Throws: ``APIError/notFound`` when `peer` is not the caller's counterpart or the message
    ///   is not in their conversation (R1: nothing is said about other pairs' messages).
    func markRead(_ db: Database, by user: User, peer: UserID, messageID: MessageID) throws -> ReadPosition {
        guard let relation = try Self.relation(user, peer, db) else { throw APIError.notFound }
        let conversation = relation.conversationID.rawValue
        guard
            let message = try Row.fetchOne(
                db.cachedStatement(
                    sql: "SELECT \(ServerRows.message) FROM message WHERE id = ? AND conversationID = ?"),
                arguments: [messageID.rawValue, conversation]
            ).map(ServerRows.message)
        else { throw APIError.notFound }
        let current = try Row.fetchOne(
            db.cachedStatement(
                sql: "SELECT \(ServerRows.readPosition) FROM readPosition WHERE conversationID = ? AND readerID = ?"),
            arguments: [conversation, user.id.rawValue]
        ).map(ServerRows.readPosition)
        let now = clock.now()
        let position = try ReadPosition.marking(message, readBy: user.id, in: relation, from: current, at: now)
        guard position != current else { return position }
        try ServerRows.save(position, db)
        let newlyRead = try Row.fetchAll(
            db.cachedStatement(
                sql: """
                    UPDATE message SET readAt = ?1 WHERE conversationID = ?2 AND recipientID = ?3 AND readAt IS NULL
                    AND createdAt <= ?4 RETURNING \(ServerRows.message)
                    """),
            arguments: [
                now.timeIntervalSinceReferenceDate, conversation, user.id.rawValue,
                position.upTo.timeIntervalSinceReferenceDate,
            ]
        ).map(ServerRows.message).sorted { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) }
        for read in newlyRead { try record(.message(read), in: relation, db) }
        try record(.read(position), in: relation, db)
        return position
    }

    func createOffer(
        _ db: Database, by user: User, to client: UserID, options: OfferOptions, clientIsOnline: Bool
    ) throws
        -> SessionOffer
    {
        let relation = user.role == .therapist ? try Self.relation(user, client, db) : nil
        let (offer, effects) = try SessionOffer.make(
            id: OfferID(BearerToken.identifier("off")), by: user, to: client, relation: relation,
            clientIsOnline: clientIsOnline, options: options, at: clock.now())
        try ServerRows.save(offer, db)
        try record(.offer(offer), in: offer.relation, db)
        try perform(effects, db)
        return offer
    }

    func answer(_ db: Database, offer id: OfferID, by user: User, accept: Bool) throws -> (SessionOffer, Session?) {
        guard var offer = try Self.offer(id, db), offer.relation.includes(user.id) else { throw APIError.notFound }
        let now = clock.now()
        let expiry = offer.expireIfDue(at: now)
        if !expiry.isEmpty {
            // Stored even though the answer is refused: server time decided the offer expired.
            try ServerRows.save(offer, db)
            try record(.offer(offer), in: offer.relation, db)
            try perform(expiry, db)
        }
        let effects = try accept ? offer.accept(by: user.id, at: now) : offer.decline(by: user.id, at: now)
        try ServerRows.save(offer, db)
        try record(.offer(offer), in: offer.relation, db)
        try perform(effects, db)
        return (offer, try offer.sessionID.flatMap { try Self.session($0, db) })
    }

    func stop(_ db: Database, session id: SessionID, by user: User) throws -> Session {
        guard var session = try Self.session(id, db), session.relation.includes(user.id) else {
            throw APIError.notFound
        }
        let effects = try session.stop(by: user.id, at: clock.now())
        try ServerRows.save(session, db)
        try record(.session(session), in: session.relation, db)
        try perform(effects, db)
        return session
    }

    /// Expires every pending offer past its deadline (R4: even if nobody asks). Returns how many.
    func expireDueOffers() async throws -> Int {
        let now = clock.now()
        return try await pool.write { db in
            let due = try Row.fetchAll(
                db, sql: "SELECT \(ServerRows.offer) FROM offer WHERE state = 'pending' AND expiresAt < ?",
                arguments: [now.timeIntervalSinceReferenceDate]
            ).map(ServerRows.offer)
            for var offer in due {
                let effects = offer.expireIfDue(at: now)
                try ServerRows.save(offer, db)
                try self.record(.offer(offer), in: offer.relation, db)
                try self.perform(effects, db)
            }
            return due.count
        }
    }

    /// Performs a transition's effects with server ids and server time.
    func perform(_ effects: [DomainEffect], _ db: Database) throws {
        let now = clock.now()
        for effect in effects {
            switch effect {
            case .postMessage(let draft):
                let message = draft.message(
                    id: MessageID(BearerToken.identifier("msg")),
                    createdAt: try Self.nextMessageTime(in: draft.conversationID, now: now, db))
                try ServerRows.insert(message, db)
                try record(.message(message), in: message.conversationID.relation, db)
            case .createSession(let session):
                try ServerRows.save(session, db)
                try record(.session(session), in: session.relation, db)
            }
        }
    }

    /// The creation time of a new message: now, or one millisecond after the conversation's
    /// latest message when that is not earlier. Times in a conversation are then strictly
    /// increasing, so "newest first" is the order of creation on every device, even for the
    /// messages one transition posts in the same millisecond.
    static func nextMessageTime(in conversation: ConversationID, now: Date, _ db: Database) throws -> Date {
        let latest = try Double.fetchOne(
            db.cachedStatement(sql: "SELECT max(createdAt) FROM message WHERE conversationID = ?"),
            arguments: [conversation.rawValue])
        guard let latest, latest >= now.timeIntervalSinceReferenceDate else { return now }
        let next = Date(timeIntervalSinceReferenceDate: latest) + 0.001
        return Date(timeIntervalSince1970: (next.timeIntervalSince1970 * 1_000).rounded() / 1_000)
    }
}
