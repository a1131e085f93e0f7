import Foundation

/// A typed identifier: an opaque string tagged with the entity it names, so a `UserID` can never
/// be passed where a `SessionID` is expected.
///
/// Identifiers are assigned by the server (or, for messages written offline, by the client before
/// the first delivery attempt) and compared byte for byte.
///
/// ```swift
/// let alice: UserID = "usr_alice"
/// let offer = OfferID(rawValue: "off_01")
/// ```
public struct Identifier<Entity>: RawRepresentable, Hashable, Comparable, Sendable, Codable,
    CustomStringConvertible, ExpressibleByStringLiteral
{
    /// The identifier as it travels on the wire and in the cache.
    public let rawValue: String

    /// Wraps a raw identifier string.
    public init(rawValue: String) { self.rawValue = rawValue }

    /// Wraps a raw identifier string.
    public init(_ rawValue: String) { self.rawValue = rawValue }

    public init(stringLiteral value: String) { self.rawValue = value }

    public init(from decoder: any Decoder) throws {
        rawValue = try decoder.singleValueContainer().decode(String.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }

    public var description: String { rawValue }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// Identifies a ``User``.
public typealias UserID = Identifier<User>
/// Identifies a ``Message``.
public typealias MessageID = Identifier<Message>
/// Identifies a ``SessionOffer``.
public typealias OfferID = Identifier<SessionOffer>
/// Identifies a ``Session``.
public typealias SessionID = Identifier<Session>

extension Identifier where Entity == Session {
    /// The identifier of the one session an offer can ever produce.
    ///
    /// Deriving it from the offer makes "an offer yields at most one session" structural: a
    /// second accept, a replayed request or a race can only ever name the same session.
    public init(offer: OfferID) { self.init(rawValue: "ses_" + offer.rawValue) }
}

extension Identifier where Entity == Message {
    /// An id chosen by the sender's device for a message written before the server has seen it:
    /// `msg_{sender}.{nonce}`, so the message keeps its id from the outbox to the feed.
    ///
    /// The sender's id is part of the message id, so each sender chooses ids in a namespace of its
    /// own: no device can choose, or probe for, an id in another sender's namespace, and the
    /// server refuses one outside the caller's namespace whatever exists (no existence oracle).
    /// The namespace is unambiguous because user ids never contain `.`.
    ///
    /// ```swift
    /// let id = MessageID(sender: "usr_alice", nonce: "4f1c")   // "msg_usr_alice.4f1c"
    /// id.isChosen(by: "usr_alice")                            // true
    /// ```
    public init(sender: UserID, nonce: String) {
        self.init(rawValue: "msg_" + sender.rawValue + "." + nonce)
    }

    /// Whether this is an id `sender` may choose: `msg_{sender}.{nonce}`, the nonce 1 to 64
    /// ASCII letters, digits, `_` or `-`.
    public func isChosen(by sender: UserID) -> Bool {
        let prefix = "msg_" + sender.rawValue + "."
        guard !sender.rawValue.utf8.contains(UInt8(ascii: ".")), rawValue.utf8.starts(with: prefix.utf8) else {
            return false
        }
        let nonce = rawValue.utf8.dropFirst(prefix.utf8.count)
        return (1...64).contains(nonce.count)
            && nonce.allSatisfy { byte in
                switch byte {
                case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                    UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "-"):
                    true
                default: false
                }
            }
    }
}
