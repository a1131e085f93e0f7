import Foundation

/// A position in the server's change feed. Opaque: only the server interprets it.
public struct FeedCursor: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public var description: String { rawValue }

    public init(from decoder: any Decoder) throws {
        rawValue = try decoder.singleValueContainer().decode(String.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

/// Names one cached entity, for deletions.
public enum EntityReference: Hashable, Sendable {
    case user(UserID)
    case message(MessageID)
    case offer(OfferID)
    case session(SessionID)
}

/// One entry of the server's change feed, in server commit order.
public enum Change: Hashable, Sendable {
    case user(User)
    case message(Message)
    case offer(SessionOffer)
    case session(Session)
    /// A person's read position in a conversation moved (R11).
    case read(ReadPosition)
    case deleted(EntityReference)
}

/// A page of the change feed, applied to the cache together with its cursor, atomically.
public struct ChangePage: Hashable, Sendable {
    public var changes: [Change]
    /// Where the next page starts; stored in the same transaction as the changes.
    public var cursor: FeedCursor
    /// Whether the server has more changes after `cursor`.
    public var hasMore: Bool
    /// How many changes come after this page, when the server counted them (it does when
    /// asked, for a progress total); `nil` when unknown.
    public var remaining: Int?

    public init(changes: [Change], cursor: FeedCursor, hasMore: Bool = false, remaining: Int? = nil) {
        self.changes = changes
        self.cursor = cursor
        self.hasMore = hasMore
        self.remaining = remaining
    }
}

/// What the client remembers about its sync with the server.
public struct SyncState: Hashable, Sendable, Codable {
    /// The feed position after the last applied page; `nil` before the first sync.
    public var cursor: FeedCursor?
    /// Time of the last successful pull (the server's, as estimated then).
    public var lastSyncAt: Date?
    /// The server's time as the profile's processes last estimated it, shared between them; it
    /// holds within the boot it names (``ServerTimeEstimate/serverNow(on:)``).
    public var serverTime: ServerTimeEstimate?
    /// Server clock minus the wall clock, in seconds, when ``serverTime`` was recorded: only a
    /// guess for views after a reboot, before a new estimate; nothing refuses on it.
    public var serverClockOffset: TimeInterval

    public init(
        cursor: FeedCursor? = nil, lastSyncAt: Date? = nil, serverTime: ServerTimeEstimate? = nil,
        serverClockOffset: TimeInterval = 0
    ) {
        self.cursor = cursor
        self.lastSyncAt = lastSyncAt
        self.serverTime = serverTime
        self.serverClockOffset = serverClockOffset
    }
}
