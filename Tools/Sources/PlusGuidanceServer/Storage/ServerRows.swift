import Foundation
import GRDB
@_spi(PlusGuidanceTools) import PlusGuidanceDomain

// Column lists and row mapping of the server's tables, by position.

enum ServerRows {
    static let message = "id, conversationID, senderID, recipientID, kind, body, createdAt, offerID, sessionID, readAt"
    static let offer =
        "id, therapistID, clientID, type, startsAt, durationMinutes, requiresConfirmation, state, createdAt, expiresAt, closedAt, sessionID"
    static let session = "id, offerID, therapistID, clientID, type, startsAt, durationMinutes, endedAt, endedBy"

    static func time(_ date: Date?) -> Double? { date?.timeIntervalSinceReferenceDate }
    static func date(_ value: Double?) -> Date? { value.map(Date.init(timeIntervalSinceReferenceDate:)) }

    static func value<T: RawRepresentable>(_ raw: String) throws -> T where T.RawValue == String {
        guard let value = T(rawValue: raw) else { throw APIError.internalError }
        return value
    }

    static func user(_ row: Row) throws -> User {
        User(id: UserID(rawValue: row[0]), email: row[1], name: row[2], role: try value(row[3]))
    }

    static func message(_ row: Row) throws -> Message {
        let conversation: String = row[1]
        guard let conversationID = ConversationID(rawValue: conversation) else { throw APIError.internalError }
        let offerID: String? = row[7]
        let sessionID: String? = row[8]
        return Message(
            id: MessageID(rawValue: row[0]), conversationID: conversationID, senderID: UserID(rawValue: row[2]),
            recipientID: UserID(rawValue: row[3]), kind: try value(row[4]), body: row[5],
            createdAt: Date(timeIntervalSinceReferenceDate: row[6]), offerID: offerID.map { OfferID(rawValue: $0) },
            sessionID: sessionID.map { SessionID(rawValue: $0) }, readAt: date(row[9]))
    }

    static let readPosition = "conversationID, readerID, messageID, upTo, readAt"

    static func readPosition(_ row: Row) throws -> ReadPosition {
        guard let conversation = ConversationID(rawValue: row[0]) else { throw APIError.internalError }
        return ReadPosition(
            conversationID: conversation, readerID: UserID(rawValue: row[1]), messageID: MessageID(rawValue: row[2]),
            upTo: Date(timeIntervalSinceReferenceDate: row[3]), readAt: Date(timeIntervalSinceReferenceDate: row[4]))
    }

    static func save(_ p: ReadPosition, _ db: Database) throws {
        try db.cachedStatement(sql: "INSERT OR REPLACE INTO readPosition (\(readPosition)) VALUES (?, ?, ?, ?, ?)")
            .execute(arguments: [
                p.conversationID.rawValue, p.readerID.rawValue, p.messageID.rawValue, time(p.upTo), time(p.readAt),
            ])
    }

    static func offer(_ row: Row) throws -> SessionOffer {
        let sessionID: String? = row[11]
        return SessionOffer(
            id: OfferID(rawValue: row[0]), therapistID: UserID(rawValue: row[1]), clientID: UserID(rawValue: row[2]),
            type: try value(row[3]), startsAt: date(row[4]), durationMinutes: row[5], requiresConfirmation: row[6],
            state: try value(row[7]), createdAt: Date(timeIntervalSinceReferenceDate: row[8]),
            expiresAt: Date(timeIntervalSinceReferenceDate: row[9]), closedAt: date(row[10]),
            sessionID: sessionID.map { SessionID(rawValue: $0) })
    }

    static func session(_ row: Row) throws -> Session {
        let endedBy: String? = row[8]
        return Session(
            id: SessionID(rawValue: row[0]), offerID: OfferID(rawValue: row[1]), therapistID: UserID(rawValue: row[2]),
            clientID: UserID(rawValue: row[3]), type: try value(row[4]),
            startsAt: Date(timeIntervalSinceReferenceDate: row[5]), durationMinutes: row[6], endedAt: date(row[7]),
            endedBy: endedBy.map { UserID(rawValue: $0) })
    }

    static func insert(_ m: Message, _ db: Database) throws {
        try db.cachedStatement(sql: "INSERT INTO message (\(message)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)").execute(
            arguments: [
                m.id.rawValue, m.conversationID.rawValue, m.senderID.rawValue, m.recipientID.rawValue, m.kind.rawValue,
                m.body, m.createdAt.timeIntervalSinceReferenceDate, m.offerID?.rawValue, m.sessionID?.rawValue,
                time(m.readAt),
            ])
    }

    static func save(_ o: SessionOffer, _ db: Database) throws {
        try db.cachedStatement(
            sql: "INSERT OR REPLACE INTO offer (\(offer)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        )
        .execute(arguments: [
            o.id.rawValue, o.therapistID.rawValue, o.clientID.rawValue, o.type.rawValue, time(o.startsAt),
            o.durationMinutes, o.requiresConfirmation, o.state.rawValue, time(o.createdAt), time(o.expiresAt),
            time(o.closedAt), o.sessionID?.rawValue,
        ])
    }

    static func save(_ s: Session, _ db: Database) throws {
        try db.cachedStatement(sql: "INSERT OR REPLACE INTO session (\(session)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
            .execute(arguments: [
                s.id.rawValue, s.offerID.rawValue, s.therapistID.rawValue, s.clientID.rawValue, s.type.rawValue,
                time(s.startsAt), s.durationMinutes, time(s.endedAt), s.endedBy?.rawValue,
            ])
    }
}
