import Foundation
@_spi(PlusGuidanceTools) import PlusGuidanceDomain

/// What an event-stream connection is told.
enum LiveSignal: Sendable {
    /// Something was committed to the feed; read it from the database after your last sequence.
    case changed
    /// A counterpart came online or went offline (presence is not part of the feed).
    case presence(UserID, online: Bool)
    /// Time for a heartbeat comment.
    case heartbeat
    /// The server clock jumped (the test clock moved): tell the client the time.
    case clock
}

/// Who is online (R2) and who listens to the event stream.
///
/// Signals carry no data: a connection that hears `.changed` reads the feed after its own last
/// sequence, so a dropped or coalesced signal can delay a change but never lose it.
actor LiveHub {
    private struct Subscriber {
        let user: UserID
        let counterparts: Set<UserID>
        let continuation: AsyncStream<LiveSignal>.Continuation
    }

    private var subscribers: [UUID: Subscriber] = [:]
    private var liveConnections: [UserID: Int] = [:]
    private var lastActivity: [UserID: Date] = [:]
    /// Set by ``closeAll()``: a stream that opens during shutdown ends at once.
    private var closed = false
    let policy: PresencePolicy

    init(policy: PresencePolicy) { self.policy = policy }

    /// Records an authenticated request by `user` at server time `now`.
    func touch(_ user: UserID, at now: Date) { lastActivity[user] = now }

    func isOnline(_ user: UserID, at now: Date) -> Bool {
        policy.isOnline(liveConnections: liveConnections[user] ?? 0, lastActivityAt: lastActivity[user], at: now)
    }

    func lastSeen(_ user: UserID) -> Date? { lastActivity[user] }

    /// Registers an event-stream connection; `user` counts as online while it is open.
    func subscribe(_ user: UserID, counterparts: [UserID], continuation: AsyncStream<LiveSignal>.Continuation) -> UUID {
        let id = UUID()
        if closed {
            continuation.finish()
            return id
        }
        subscribers[id] = Subscriber(user: user, counterparts: Set(counterparts), continuation: continuation)
        liveConnections[user, default: 0] += 1
        if liveConnections[user] == 1 { announce(user, online: true) }
        return id
    }

    func unsubscribe(_ id: UUID, at now: Date) {
        guard let subscriber = subscribers.removeValue(forKey: id) else { return }
        subscriber.continuation.finish()
        let user = subscriber.user
        liveConnections[user, default: 1] -= 1
        if liveConnections[user] == 0 {
            liveConnections[user] = nil
            lastActivity[user] = now
            announce(user, online: false)
        }
    }

    /// Wakes every connection after a commit to the feed.
    func changed() {
        for subscriber in subscribers.values { subscriber.continuation.yield(.changed) }
    }

    /// Tells every connection the server's time after the test clock moved, so that what
    /// clients schedule on the server's clock (session reminders, countdowns) follows at once.
    func clockMoved() {
        for subscriber in subscribers.values { subscriber.continuation.yield(.clock) }
    }

    private func announce(_ user: UserID, online: Bool) {
        for subscriber in subscribers.values where subscriber.counterparts.contains(user) {
            subscriber.continuation.yield(.presence(user, online: online))
        }
    }

    var connectionCount: Int { subscribers.count }

    /// Ends every event stream, so a graceful shutdown does not wait for clients that never hang up.
    func closeAll() {
        closed = true
        for subscriber in subscribers.values { subscriber.continuation.finish() }
    }
}
