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
