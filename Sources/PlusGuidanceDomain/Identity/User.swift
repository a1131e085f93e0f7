import Foundation

/// Whether a person uses PlusGuidance as a therapist or as a client.
public enum Role: String, Sendable, Codable, CaseIterable, Hashable {
    case therapist
    case client
}

/// A person on the platform: a therapist or one of their clients.
public struct User: Identifiable, Hashable, Sendable, Codable {
    public var id: UserID
    /// Login e-mail, unique on the platform.
    public var email: String
    /// Display name.
    public var name: String
    public var role: Role

    public init(id: UserID, email: String, name: String, role: Role) {
        self.id = id
        self.email = email
        self.name = name
        self.role = role
    }
}

/// The therapist–client relation (R1): a therapist has a list of clients, and messages, offers and
/// sessions only ever flow inside one such pair.
public struct CareRelation: Hashable, Sendable, Codable {
    public var therapistID: UserID
    public var clientID: UserID

    public init(therapistID: UserID, clientID: UserID) {
        self.therapistID = therapistID
        self.clientID = clientID
    }

    /// The pair `user` would form with `peer`, by `user`'s role: a therapist with a client, or a
    /// client with a therapist. Whether the pair exists is for the caller's data to say.
    public init(user: User, peer: UserID) {
        if user.role == .therapist {
            self.init(therapistID: user.id, clientID: peer)
        } else {
            self.init(therapistID: peer, clientID: user.id)
        }
    }

    /// The conversation this pair shares. There is exactly one per pair.
    public var conversationID: ConversationID {
        ConversationID(therapistID: therapistID, clientID: clientID)
    }

    /// Whether `user` is one of the two people of this pair.
    public func includes(_ user: UserID) -> Bool { user == therapistID || user == clientID }

    /// The other person of the pair, or `nil` when `user` is not part of it.
    public func counterpart(of user: UserID) -> UserID? {
        switch user {
        case therapistID: clientID
        case clientID: therapistID
        default: nil
        }
    }
}

/// Identifies the one conversation between a therapist and one of their clients.
///
/// It is derived from the pair, so both sides, the server and the cache compute the same value
/// without a lookup. The raw form is `"<therapistID>~<clientID>"`.
public struct ConversationID: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public let therapistID: UserID
    public let clientID: UserID

    public init(therapistID: UserID, clientID: UserID) {
        self.therapistID = therapistID
        self.clientID = clientID
    }

    /// Parses the raw form produced by ``rawValue``; `nil` for anything else.
    ///
    /// The `~` is found among the UTF-8 bytes, not the characters: every message of a feed
    /// page names its conversation, and splitting by `Character` (grapheme breaking) was a
    /// sixth of decoding a page. A `~` byte is always the character `~` in valid UTF-8, so the
    /// halves are whole strings.
    public init?(rawValue: String) {
        var raw = rawValue
        let halves: (String, String)? = raw.withUTF8 { bytes in
            guard let tilde = bytes.firstIndex(of: UInt8(ascii: "~")), tilde > 0, tilde < bytes.count - 1,
                !bytes[(tilde + 1)...].contains(UInt8(ascii: "~"))
            else { return nil }
            return (
                String(decoding: UnsafeBufferPointer(rebasing: bytes[..<tilde]), as: UTF8.self),
                String(decoding: UnsafeBufferPointer(rebasing: bytes[(tilde + 1)...]), as: UTF8.self)
            )
        }
        guard let (therapist, client) = halves else { return nil }
        self.init(therapistID: UserID(therapist), clientID: UserID(client))
    }

    public var rawValue: String { therapistID.rawValue + "~" + clientID.rawValue }
    public var description: String { rawValue }
    public var relation: CareRelation { CareRelation(therapistID: therapistID, clientID: clientID) }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let raw = try container.decode(String.self)
        guard let value = ConversationID(rawValue: raw) else {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "not a conversation id")
        }
        self = value
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}
