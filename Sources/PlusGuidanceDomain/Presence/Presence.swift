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
/// the presence last seen.
public struct Contact: Identifiable, Hashable, Sendable, Codable {
    public var user: User
    public var presence: Presence

    public init(user: User, presence: Presence) {
        self.user = user
        self.presence = presence
    }

    public var id: UserID { user.id }
}
