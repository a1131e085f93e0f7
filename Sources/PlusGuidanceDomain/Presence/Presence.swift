import Foundation

/// Decides who is online now (R2).
///
/// *(ours)* A person is online when they have a live event connection open, or made an
/// authenticated request within ``window`` seconds. An Instant Session can only be offered to a
/// client who is online by this rule.
public struct PresencePolicy: Hashable, Sendable {
    /// The platform default: one minute.
    public static let defaultWindow: TimeInterval = 60

    public var window: TimeInterval

    public init(window: TimeInterval = PresencePolicy.defaultWindow) {
        self.window = max(0, window)
    }

    /// - Parameters:
    ///   - liveConnections: event streams the person has open right now.
    ///   - lastActivityAt: server time of their last authenticated request, if any.
    ///   - now: the server's time now.
    public func isOnline(liveConnections: Int, lastActivityAt: Date?, at now: Date) -> Bool {
        if liveConnections > 0 { return true }
        guard let lastActivityAt else { return false }
        return now.timeIntervalSince(lastActivityAt) <= window
    }
}

/// What one person's presence was when last seen.
public struct Presence: Hashable, Sendable, Codable {
    public var userID: UserID
    public var isOnline: Bool
    /// Server time of their last activity, if known.
    public var lastSeenAt: Date?

    public init(userID: UserID, isOnline: Bool, lastSeenAt: Date? = nil) {
        self.userID = userID
        self.isOnline = isOnline
        self.lastSeenAt = lastSeenAt
    }
}

/// A counterpart as a client app lists it: a therapist's client, or a client's therapist, with
/// the presence last seen and how many messages from them (or the flow, to the account) are
/// unread.
public struct Contact: Identifiable, Hashable, Sendable, Codable {
    public var user: User
    public var presence: Presence
    /// Messages of the conversation addressed to the account and not covered by its read
    /// position (R11), counting a read receipt still queued on this device.
    public var unread: Int

    public init(user: User, presence: Presence, unread: Int = 0) {
        self.user = user
        self.presence = presence
        self.unread = unread
    }

    public var id: UserID { user.id }
}
