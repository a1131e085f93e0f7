import Foundation

/// How far one person of a pair has read their conversation (R11): every message up to and
/// including ``messageID`` (created at ``upTo``) counts as read.
///
/// A conversation's messages have strictly increasing creation times (the server makes them
/// so), so the position is a time: a message is covered when it was created at or before
/// ``upTo``. Only the reader moves their own position, only forward (the latest wins), and only
/// the pair sees it (R1).
public struct ReadPosition: Hashable, Sendable, Codable {
    public var conversationID: ConversationID
    /// The person who read.
    public var readerID: UserID
    /// The latest message read.
    public var messageID: MessageID
    /// That message's creation time: every message of the conversation created at or before it
    /// is read.
    public var upTo: Date
    /// Server time the position last moved.
    public var readAt: Date

    public init(conversationID: ConversationID, readerID: UserID, messageID: MessageID, upTo: Date, readAt: Date) {
        self.conversationID = conversationID
        self.readerID = readerID
        self.messageID = messageID
        self.upTo = upTo
        self.readAt = readAt
    }

    /// Whether `message` is read by this position's reader: addressed to them and created at or
    /// before the position.
    public func covers(_ message: Message) -> Bool {
        message.conversationID == conversationID && message.recipientID == readerID && message.createdAt <= upTo
    }

    /// The position after `reader` marks `conversation` read up to `message` at server time
    /// `now`, from `current` (theirs, if any): it only moves forward; an older mark leaves it
    /// where it is (the latest wins, in whatever order marks arrive).
    ///
    /// - Throws: ``DomainError/notAParticipant`` when `reader` is not one of the pair, or the
    ///   message is not of this conversation.
    public static func marking(
        _ message: Message, readBy reader: UserID, in relation: CareRelation, from current: ReadPosition?,
        at now: Date
    ) throws(DomainError) -> ReadPosition {
        guard relation.includes(reader), message.conversationID == relation.conversationID else {
            throw .notAParticipant
        }
        if let current, current.upTo >= message.createdAt { return current }
        return ReadPosition(
            conversationID: relation.conversationID, readerID: reader, messageID: message.id,
            upTo: message.createdAt, readAt: now)
    }
}

/// What a queued read receipt carries: the conversation and the latest message it marks read.
public struct ReadMark: Hashable, Sendable, Codable {
    public var conversationID: ConversationID
    /// The other person of the pair (the conversation is addressed by them on the wire).
    public var peerID: UserID
    public var messageID: MessageID
    /// The message's creation time: what the local unread count moves to while the mark waits.
    public var upTo: Date

    public init(conversationID: ConversationID, peerID: UserID, messageID: MessageID, upTo: Date) {
        self.conversationID = conversationID
        self.peerID = peerID
        self.messageID = messageID
        self.upTo = upTo
    }
}
