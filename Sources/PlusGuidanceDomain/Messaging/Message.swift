import Foundation

/// What a message in a conversation is: a text written by a person, or one of the system messages
/// the Instant Session flow posts (R4, R5, R6).
public enum MessageKind: String, Sendable, Codable, CaseIterable, Hashable {
    /// A text written by the therapist or the client.
    case text
    /// An offer the client must accept or decline (R4); carries `offerID`.
    case sessionOffer
    /// To the client: "Your session is now ready. Click here to attend." (R4, R5); carries `sessionID`.
    case sessionReady
    /// To the therapist: the link to attend the session (R4, R5); carries `sessionID`.
    case sessionLink
    /// To the therapist: the client declined the offer (R4); carries `offerID`.
    case offerDeclined
    /// The offer had no answer for over an hour and was cancelled (R4); carries `offerID`.
    case offerExpired
    /// The therapist stopped the session (R6); carries `sessionID`.
    case sessionEnded

    /// Whether people write this kind (only ``text``); every other kind is posted by the flow.
    public var isWrittenByPeople: Bool { self == .text }
}

/// Where a message stands in the client's own delivery pipeline (R8).
///
/// Messages received from the server are always ``sent``. A text written on this device is
/// ``pending`` until the server confirms it and ``failed`` if the server refused it for good; a
/// failed message stays visible until the user retries or discards it.
public enum DeliveryState: String, Sendable, Codable, CaseIterable, Hashable {
    case pending
    case sent
    case failed
}

/// One message in the conversation between a therapist and one of their clients.
///
/// Both people of the pair see every message of their conversation. For system messages the
/// `recipientID` is the person the message is addressed to and `senderID` the other person of the
/// pair, so every message has both.
public struct Message: Identifiable, Hashable, Sendable, Codable {
    public var id: MessageID
    public var conversationID: ConversationID
    public var senderID: UserID
    public var recipientID: UserID
    public var kind: MessageKind
    /// The text. Secret health data: never log it or put it in an error.
    public var body: String
    /// Server time of creation (for a pending message, the local time it was written).
    public var createdAt: Date
    public var offerID: OfferID?
    public var sessionID: SessionID?
    public var deliveryState: DeliveryState
    /// Server time the recipient read the message (R11: their read position reached it), `nil`
    /// while unread. Set by the server; both people of the pair see it.
    public var readAt: Date?

    public init(
        id: MessageID, conversationID: ConversationID, senderID: UserID, recipientID: UserID,
        kind: MessageKind, body: String, createdAt: Date, offerID: OfferID? = nil,
        sessionID: SessionID? = nil, deliveryState: DeliveryState = .sent, readAt: Date? = nil
    ) {
        self.id = id
        self.conversationID = conversationID
        self.senderID = senderID
        self.recipientID = recipientID
        self.kind = kind
        self.body = body
        self.createdAt = createdAt
        self.offerID = offerID
        self.sessionID = sessionID
        self.deliveryState = deliveryState
        self.readAt = readAt
    }
}

extension Message: CustomStringConvertible {
    /// Describes the message without its body, so a message can be logged or put in an error
    /// safely.
    public var description: String {
        "Message(id: \(id), kind: \(kind.rawValue), conversation: \(conversationID), \(body.utf8.count) bytes, \(deliveryState.rawValue))"
    }
}

extension Message {
    /// Validates and builds a text message from `sender` to `recipient`.
    ///
    /// - Parameters:
    ///   - id: the message's id, chosen by the sender's client.
    ///   - sender: who writes.
    ///   - recipient: who it is for.
    ///   - relation: the therapist–client pair the caller found for these two people, or `nil`
    ///     when they are not a pair. Messages only flow inside a pair (R1).
    ///   - body: checked by ``MessageBody``: not blank, at most ``MessageBody/maximumByteCount``.
    ///   - now: its creation time.
    ///   - deliveryState: `.sent` for a message the server has, `.pending` for one queued.
    /// - Throws: ``DomainError/notAParticipant`` when sender and recipient are not the two people
    ///   of `relation`; ``DomainError/emptyMessage`` or ``DomainError/messageTooLong``.
    public static func text(
        id: MessageID, from sender: UserID, to recipient: UserID, within relation: CareRelation?,
        body: String, at now: Date, deliveryState: DeliveryState = .sent
    ) throws(DomainError) -> Message {
        guard let relation, relation.includes(sender), relation.counterpart(of: sender) == recipient
        else { throw .notAParticipant }
        let checked = try MessageBody(body)
        return Message(
            id: id, conversationID: relation.conversationID, senderID: sender,
            recipientID: recipient, kind: .text, body: checked.text, createdAt: now,
            deliveryState: deliveryState)
    }
}

/// A message text that passed validation: not blank and at most
/// ``maximumByteCount`` bytes of UTF-8.
public struct MessageBody: Hashable, Sendable {
    /// 8 KiB of UTF-8: several screens of text, far above what a chat message needs, and small
    /// enough that a feed page of 500 messages stays under a few megabytes.
    public static let maximumByteCount = 8_192

    public let text: String

    /// - Throws: ``DomainError/emptyMessage`` for an empty or whitespace-only text,
    ///   ``DomainError/messageTooLong`` above ``maximumByteCount`` bytes.
    public init(_ text: String) throws(DomainError) {
        guard text.contains(where: { !$0.isWhitespace }) else { throw .emptyMessage }
        let size = text.utf8.count
        guard size <= Self.maximumByteCount else {
            throw DomainError.messageTooLong.with(
                detail: "\(size) bytes, at most \(Self.maximumByteCount) allowed")
        }
        self.text = text
    }
}

/// A system message the flow wants posted, before the performer gives it an id and a timestamp.
public struct MessageDraft: Hashable, Sendable {
    public var conversationID: ConversationID
    public var senderID: UserID
    public var recipientID: UserID
    public var kind: MessageKind
    public var body: String
    public var offerID: OfferID?
    public var sessionID: SessionID?

    public init(
        in relation: CareRelation, to recipientID: UserID, kind: MessageKind, body: String,
        offerID: OfferID? = nil, sessionID: SessionID? = nil
    ) {
        self.conversationID = relation.conversationID
        self.recipientID = recipientID
        self.senderID = relation.counterpart(of: recipientID) ?? recipientID
        self.kind = kind
        self.body = body
        self.offerID = offerID
        self.sessionID = sessionID
    }

    /// The message as stored once the performer assigned `id` and the server time `createdAt`.
    public func message(id: MessageID, createdAt: Date) -> Message {
        Message(
            id: id, conversationID: conversationID, senderID: senderID, recipientID: recipientID,
            kind: kind, body: body, createdAt: createdAt, offerID: offerID, sessionID: sessionID)
    }
}
