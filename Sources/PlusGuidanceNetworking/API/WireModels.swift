import Foundation
import PlusGuidanceDomain

// The JSON shapes of Documentation/openapi.yaml as the SDK reads them, and their mapping to
// Domain values. Decoding is strict about what the contract requires and tolerant of members it
// does not know; a value that does not map (an unknown enum, a malformed time) fails the whole
// answer with `invalid_response`, never a crash.

/// RFC 3339 times as the API writes them.
public enum WireDecoding {
    static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let container = try decoder.singleValueContainer()
            let text = try container.decode(String.self)
            guard let date = time(text) else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "not an RFC 3339 time")
            }
            return date
        }
        return decoder
    }

    /// Parses an RFC 3339 time, with or without a fraction.
    public static func time(_ text: String) -> Date? { RFC3339.date(text) }

    /// RFC 3339 with three fraction digits, rounded (``PlusGuidanceDomain/RFC3339``).
    public static func timeString(_ date: Date) -> String { RFC3339.string(date) }

    static func value<T: RawRepresentable>(_ raw: String, _ field: String) throws -> T where T.RawValue == String {
        guard let value = T(rawValue: raw) else {
            throw PlusGuidanceAPIError.invalidResponse("unknown \(field) '\(raw)'")
        }
        return value
    }
}

struct UserDTO: Decodable {
    var id: String
    var email: String
    var name: String
    var role: String

    func domain() throws -> User {
        User(id: UserID(id), email: email, name: name, role: try WireDecoding.value(role, "role"))
    }
}

struct ContactDTO: Decodable {
    var id: String
    var email: String
    var name: String
    var role: String
    var online: Bool
    var lastSeenAt: Date?

    func domain() throws -> Contact {
        let user = User(id: UserID(id), email: email, name: name, role: try WireDecoding.value(role, "role"))
        return Contact(user: user, presence: Presence(userID: user.id, isOnline: online, lastSeenAt: lastSeenAt))
    }
}

struct MessageDTO: Decodable {
    var id: String
    var conversationId: String
    var senderId: String
    var recipientId: String
    var kind: String
    var body: String
    var createdAt: Date
    var offerId: String?
    var sessionId: String?

    func domain() throws -> Message {
        guard let conversation = ConversationID(rawValue: conversationId) else {
            throw PlusGuidanceAPIError.invalidResponse("malformed conversationId")
        }
        return Message(
            id: MessageID(id), conversationID: conversation, senderID: UserID(senderId),
            recipientID: UserID(recipientId),
            kind: try WireDecoding.value(kind, "message kind"), body: body, createdAt: createdAt,
            offerID: offerId.map { OfferID($0) }, sessionID: sessionId.map { SessionID($0) }, deliveryState: .sent)
    }
}

struct OfferDTO: Decodable {
    var id: String
    var therapistId: String
    var clientId: String
    var type: String
    var startsAt: Date?
    var durationMinutes: Int
    var requiresConfirmation: Bool
    var state: String
    var createdAt: Date
    var expiresAt: Date
    var closedAt: Date?
    var sessionId: String?

    func domain() throws -> SessionOffer {
        SessionOffer(
            id: OfferID(id), therapistID: UserID(therapistId), clientID: UserID(clientId),
            type: try WireDecoding.value(type, "session type"), startsAt: startsAt, durationMinutes: durationMinutes,
            requiresConfirmation: requiresConfirmation, state: try WireDecoding.value(state, "offer state"),
            createdAt: createdAt, expiresAt: expiresAt, closedAt: closedAt, sessionID: sessionId.map { SessionID($0) })
    }
}

struct SessionDTO: Decodable {
    var id: String
    var offerId: String
    var therapistId: String
    var clientId: String
    var type: String
    var startsAt: Date
    var durationMinutes: Int
    var endedAt: Date?
    var endedBy: String?

    func domain() throws -> Session {
        Session(
            id: SessionID(id), offerID: OfferID(offerId), therapistID: UserID(therapistId), clientID: UserID(clientId),
            type: try WireDecoding.value(type, "session type"), startsAt: startsAt, durationMinutes: durationMinutes,
            endedAt: endedAt, endedBy: endedBy.map { UserID($0) })
    }
}

struct ChangeDTO: Decodable {
    var entity: String
    var id: String
    var op: String
    var user: UserDTO?
    var message: MessageDTO?
    var offer: OfferDTO?
    var session: SessionDTO?

    func domain() throws -> Change {
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
        default: break
        }
        throw PlusGuidanceAPIError.invalidResponse("unusable change (\(op) \(entity))")
    }
}

struct FeedPageDTO: Decodable {
    var changes: [ChangeDTO]
    var cursor: String
    var hasMore: Bool
    var remaining: Int?
}

struct TokensDTO: Decodable {
    var accessToken: String
    var refreshToken: String
    var expiresIn: Int
    var refreshExpiresIn: Int
    var user: UserDTO
}

struct MessagesPageDTO: Decodable {
    var messages: [MessageDTO]
    var hasMore: Bool
}

struct AnswerDTO: Decodable {
    var offer: OfferDTO
    var session: SessionDTO?
}

struct ContactsDTO: Decodable { var contacts: [ContactDTO] }
struct OffersDTO: Decodable { var offers: [OfferDTO] }
struct SessionsDTO: Decodable { var sessions: [SessionDTO] }
struct PresenceDTO: Decodable {
    var userId: String
    var online: Bool
}
