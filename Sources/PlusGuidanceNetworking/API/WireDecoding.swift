import Foundation
import PlusGuidanceDomain

// The JSON shapes of Documentation/openapi.yaml as the SDK reads them, and their mapping to
// Domain values. Decoding is strict about what the contract requires and tolerant of members it
// does not know; a value that does not map (an unknown enum, a malformed time) or lies outside
// the contract's ranges (``WireContract``) fails the whole answer with `invalid_response`, never
// a crash, and never reaches the cache.

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

/// The ranges of Documentation/openapi.yaml that values from the wire are checked against, so
/// that no later computation on a cached value can overflow or print nonsense.
public enum WireContract {
    /// Ids, e-mails, names and cursors: 1 to 255 bytes of UTF-8.
    public static let identifierBytes = 1...255
    /// Message bodies, system messages included: the most a person may write (8 KiB).
    public static let bodyBytes = 0...MessageBody.maximumByteCount
    /// Offers and sessions: the durations an offer may ask for.
    public static let durationMinutes = OfferOptions.durationRange
    /// Token lifetimes in seconds: at least one second, at most ten years.
    public static let tokenLifetimeSeconds = 1...(10 * 366 * 86_400)
    /// Access and refresh tokens: opaque, 1 to 8 KiB.
    public static let tokenBytes = 1...8_192

    static func check(_ value: Int, in range: ClosedRange<Int>, _ field: String) throws -> Int {
        guard range.contains(value) else {
            throw PlusGuidanceAPIError.invalidResponse(
                "\(field) \(value) outside \(range.lowerBound)...\(range.upperBound)")
        }
        return value
    }

    static func check(_ text: String, bytes range: ClosedRange<Int>, _ field: String) throws -> String {
        guard range.contains(text.utf8.count) else {
            throw PlusGuidanceAPIError.invalidResponse(
                "\(field) of \(text.utf8.count) bytes outside \(range.lowerBound)...\(range.upperBound)")
        }
        return text
    }

    static func identifier(_ text: String, _ field: String) throws -> String {
        try check(text, bytes: identifierBytes, field)
    }
}

struct UserDTO: Decodable {
    var id: String
    var email: String
    var name: String
    var role: String

    func domain() throws -> User {
        User(
            id: UserID(try WireContract.identifier(id, "user id")), email: try WireContract.identifier(email, "email"),
            name: try WireContract.identifier(name, "name"), role: try WireDecoding.value(role, "role"))
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
        let user = try UserDTO(id: id, email: email, name: name, role: role).domain()
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
            id: MessageID(try WireContract.identifier(id, "message id")), conversationID: conversation,
            senderID: UserID(try WireContract.identifier(senderId, "senderId")),
            recipientID: UserID(try WireContract.identifier(recipientId, "recipientId")),
            kind: try WireDecoding.value(kind, "message kind"),
            body: try WireContract.check(body, bytes: WireContract.bodyBytes, "body"), createdAt: createdAt,
            offerID: try offerId.map { OfferID(try WireContract.identifier($0, "offerId")) },
            sessionID: try sessionId.map { SessionID(try WireContract.identifier($0, "sessionId")) },
            deliveryState: .sent)
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
            id: OfferID(try WireContract.identifier(id, "offer id")),
            therapistID: UserID(try WireContract.identifier(therapistId, "therapistId")),
            clientID: UserID(try WireContract.identifier(clientId, "clientId")),
            type: try WireDecoding.value(type, "session type"), startsAt: startsAt,
            durationMinutes: try WireContract.check(
                durationMinutes, in: WireContract.durationMinutes, "durationMinutes"),
            requiresConfirmation: requiresConfirmation, state: try WireDecoding.value(state, "offer state"),
            createdAt: createdAt, expiresAt: expiresAt, closedAt: closedAt,
            sessionID: try sessionId.map { SessionID(try WireContract.identifier($0, "sessionId")) })
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
            id: SessionID(try WireContract.identifier(id, "session id")),
            offerID: OfferID(try WireContract.identifier(offerId, "offerId")),
            therapistID: UserID(try WireContract.identifier(therapistId, "therapistId")),
            clientID: UserID(try WireContract.identifier(clientId, "clientId")),
            type: try WireDecoding.value(type, "session type"), startsAt: startsAt,
            durationMinutes: try WireContract.check(
                durationMinutes, in: WireContract.durationMinutes, "durationMinutes"),
            endedAt: endedAt, endedBy: try endedBy.map { UserID(try WireContract.identifier($0, "endedBy")) })
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
        let id = try WireContract.identifier(id, "change id")
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

    func tokens() throws -> APITokens {
        _ = try WireContract.check(expiresIn, in: WireContract.tokenLifetimeSeconds, "expiresIn")
        _ = try WireContract.check(refreshExpiresIn, in: WireContract.tokenLifetimeSeconds, "refreshExpiresIn")
        return APITokens(
            accessToken: try WireContract.check(accessToken, bytes: WireContract.tokenBytes, "accessToken"),
            refreshToken: try WireContract.check(refreshToken, bytes: WireContract.tokenBytes, "refreshToken"))
    }
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
