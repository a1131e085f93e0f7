import Foundation
@_spi(PlusGuidanceTools) import PlusGuidanceDomain

/// The lifecycle of the live event stream, as a plain struct: its methods take what happened
/// and return the ``Action``s the driver performs. No I/O, no clock reads.
///
/// ```
///  stop ◀──────────────── any state
///  start ──▶ connecting ──connected──▶ open ──failed / no sign of life for heartbeatTimeout──▶ waiting
///               ▲    │                                                                         ▲  │
///               │    └──────────── failed / no answer for heartbeatTimeout ────────────────────┘  │
///               └──────────────────────── wake at the backoff deadline ◀──────────────────────────┘
/// ```
///
/// A connection that never answers (a proxy or NAT that swallows it) counts as failed after
/// `heartbeatTimeout`, like an open stream that goes silent.
///
/// A catch-up that fails while the stream stays open (a feed request past its deadline, a proxy
/// answering 503 for one route) is tried again with the same jittered backoff until one
/// succeeds or the stream is lost: a stream opened without a cursor starts at the end of the
/// feed, so without the catch-up what happened before it would stay missing until the next
/// reconnection, which on a healthy stream may be days away; with a cursor, the cache's sync
/// time would stay stale as long.
///
/// Every (re)connection resumes after the last cursor seen (`Last-Event-ID`) and is followed by
/// a catch-up from the feed, so a change made while the stream was down is never missed. The
/// backoff doubles per failed attempt up to a cap, with full jitter, and resets once a stream
/// opens; it also never waits longer than the stream has been down so far (at least
/// `initialBackoff`), so a client is back within about the outage's own length after the server
/// is. Without that bound, clients whose first retries came quickly (full jitter draws small
/// waits too) had reached 16–32 s ceilings within a 3 s outage: the fleet benchmark saw the
/// last of 1,000 connections come back 30 s after the server.
public struct LiveConnectionMachine: Sendable {
    public enum State: Hashable, Sendable {
        case stopped
        /// Attempt `attempt` started at `since` and has no answer yet.
        case connecting(attempt: Int, since: Date)
        /// Open, with the last time the server showed a sign of life (an event or a heartbeat).
        case open(lastSign: Date)
        /// Waiting before attempt `attempt`.
        case waiting(attempt: Int, until: Date)
    }

    public enum Action: Hashable, Sendable {
        /// Open the event stream, resuming after this cursor.
        case connect(after: FeedCursor?)
        /// Pull the feed to catch up with what happened while not connected.
        case catchUp
        /// Close the current stream.
        case disconnect
        /// Call ``tick(at:)`` at this time.
        case wake(at: Date)
    }

    public private(set) var state: State = .stopped
    /// The last event id seen.
    public private(set) var cursor: FeedCursor?
    /// Since when no stream has been open (the loss of the last one, or the start); `nil` while
    /// one is open.
    public private(set) var downSince: Date?
    /// While open, after a catch-up failed: how many failed in a row, and when the next one is
    /// due (`nil` while it runs).
    public struct CatchUpRetry: Hashable, Sendable {
        public var failures: Int
        public var due: Date?
    }

    /// Set while a failed catch-up waits to be tried again or is being tried again.
    public private(set) var catchUpRetry: CatchUpRetry?
    /// Without an event or heartbeat for this long, the stream is taken as dead (the server
    /// sends a heartbeat every 15 s: three missed ones).
    public var heartbeatTimeout: TimeInterval = 45
    public var initialBackoff: TimeInterval = 1
    public var maximumBackoff: TimeInterval = 60
    /// A number in 0..<1 for the jitter.
    public var random: @Sendable () -> Double = { Double.random(in: 0..<1) }

    public init(cursor: FeedCursor? = nil) { self.cursor = cursor }

    public mutating func start(at now: Date) -> [Action] {
        guard state == .stopped else { return [] }
        state = .connecting(attempt: 1, since: now)
        downSince = now
        return [.connect(after: cursor), .wake(at: now + heartbeatTimeout)]
    }

    public mutating func stop() -> [Action] {
        let wasConnected = state != .stopped
        state = .stopped
        catchUpRetry = nil
        return wasConnected ? [.disconnect] : []
    }

    /// The stream answered 200 and is open.
    public mutating func connected(at now: Date) -> [Action] {
        guard case .connecting = state else { return [] }
        state = .open(lastSign: now)
        downSince = nil
        return [.catchUp, .wake(at: now + heartbeatTimeout)]
    }

    /// An event (with its cursor) or a heartbeat (`cursor` nil) arrived.
    public mutating func received(cursor newCursor: FeedCursor?, at now: Date) -> [Action] {
        guard case .open = state else { return [] }
        if let newCursor { cursor = newCursor }
        state = .open(lastSign: now)
        return []
    }

    /// The connection attempt or the open stream failed or ended.
    public mutating func failed(at now: Date) -> [Action] {
        let attempt: Int
        switch state {
        case .connecting(let current, _): attempt = current + 1
        case .open:
            attempt = 1
            downSince = now
        case .stopped, .waiting: return []
        }
        catchUpRetry = nil
        let until = now + delay(before: attempt, down: now.timeIntervalSince(downSince ?? now))
        state = .waiting(attempt: attempt, until: until)
        return [.disconnect, .wake(at: until)]
    }

    /// The catch-up after the stream opened succeeded.
    public mutating func caughtUp() {
        catchUpRetry = nil
    }

    /// The catch-up after the stream opened failed: while the stream stays open it is tried
    /// again after a jittered backoff that doubles per failure.
    public mutating func catchUpFailed(at now: Date) -> [Action] {
        guard case .open(let lastSign) = state else { return [] }
        let failures = (catchUpRetry?.failures ?? 0) + 1
        let ceiling = min(maximumBackoff, initialBackoff * pow(2, Double(failures - 1)))
        catchUpRetry = CatchUpRetry(failures: failures, due: now + ceiling * random())
        return [.wake(at: nextWake(lastSign: lastSign))]
    }

    /// Something else reached the server (an outbox delivery was answered): a backoff ends now,
    /// rather than keeping the stream down for up to ``maximumBackoff`` after the server is back.
    public mutating func serverReachable(at now: Date) -> [Action] {
        guard case .waiting(let attempt, _) = state else { return [] }
        state = .connecting(attempt: attempt, since: now)
        return [.connect(after: cursor), .wake(at: now + heartbeatTimeout)]
    }

    /// Time passed: detects a silent stream and ends a backoff.
    public mutating func tick(at now: Date) -> [Action] {
        switch state {
        case .open(let lastSign):
            guard now.timeIntervalSince(lastSign) < heartbeatTimeout else { return failed(at: now) }
            var actions: [Action] = []
            if let due = catchUpRetry?.due, now >= due {
                // Stays set, for the backoff, until the catch-up reports back.
                catchUpRetry?.due = nil
                actions.append(.catchUp)
            }
            return actions + [.wake(at: nextWake(lastSign: lastSign))]
        case .connecting(_, let since):
            guard now.timeIntervalSince(since) >= heartbeatTimeout else { return [.wake(at: since + heartbeatTimeout)] }
            return failed(at: now)
        case .waiting(let attempt, let until):
            guard now >= until else { return [.wake(at: until)] }
            state = .connecting(attempt: attempt, since: now)
            return [.connect(after: cursor), .wake(at: now + heartbeatTimeout)]
        case .stopped:
            return []
        }
    }

    /// The sooner of the heartbeat deadline and a catch-up retry.
    private func nextWake(lastSign: Date) -> Date {
        min(lastSign + heartbeatTimeout, catchUpRetry?.due ?? .distantFuture)
    }

    /// Full jitter under a ceiling that doubles per attempt and is never more than the time
    /// the stream has been `down` (nor less than `initialBackoff`): the first retry of a stream
    /// that was open comes within `initialBackoff`.
    func delay(before attempt: Int, down: TimeInterval) -> TimeInterval {
        let exponential = initialBackoff * pow(2, Double(max(0, attempt - 1)))
        let ceiling = min(maximumBackoff, exponential, max(initialBackoff, down))
        return ceiling * random()
    }
}
