import Foundation

/// The seam through which every rule that depends on the time of day reads it.
///
/// Domain functions take the current time as an argument (`at now: Date`) and stay pure; whoever
/// calls them reads the time from a `WallClock`: the server from ``SystemWallClock`` (or a
/// ``ManualWallClock`` in `--test-clock` mode), the sync engine from its estimate of the server's
/// clock, tests from a ``ManualWallClock``.
///
/// It is called `WallClock` rather than `Clock` because the standard library's `Clock` measures
/// monotonic instants for sleeping, while offer expiry and session countdowns are about calendar
/// time that two machines agree on.
public protocol WallClock: Sendable {
    /// The current time.
    func now() -> Date
    /// Returns once ``now()`` has reached `deadline` (at once if it has), or throws
    /// `CancellationError` when the task is cancelled first. The sync engine's timers (the live
    /// stream's heartbeat deadline, an outbox entry's backoff) sleep on the injected clock this
    /// way, so tests move them with a ``ManualWallClock``.
    func sleep(until deadline: Date) async throws
}

extension Duration {
    /// The duration in seconds, as `Date` arithmetic takes it.
    @_spi(PlusGuidanceTools) public var timeInterval: TimeInterval {
        TimeInterval(components.seconds) + TimeInterval(components.attoseconds) / 1e18
    }
}

extension WallClock {
    public func sleep(until deadline: Date) async throws {
        let seconds = deadline.timeIntervalSince(now())
        guard seconds > 0 else { return try Task.checkCancellation() }
        try await Task.sleep(for: .milliseconds(Int64(min(seconds, 86_400 * 365) * 1_000) + 1))
    }
}

/// The machine's real-time clock.
public struct SystemWallClock: WallClock {
    public init() {}
    public func now() -> Date { Date() }
}

/// A clock that only moves when told to: for tests and the reference server's test mode.
///
/// ```swift
/// let clock = ManualWallClock(Date(timeIntervalSince1970: 1_800_000_000))
/// clock.advance(by: 3_601)   // an hour and a second later
/// ```
public final class ManualWallClock: WallClock, @unchecked Sendable {
    // @unchecked: the state is `current` and `sleepers`, and every access to them holds `lock`.
    private let lock = NSLock()
    private var current: Date
    /// Names this clock's "boot" for ``ElapsedClock``: one per clock, so a test that wants a
    /// reboot makes a second clock.
    public let bootID = "manual-" + UUID().uuidString
    private var sleepers: [UUID: (deadline: Date, continuation: CheckedContinuation<Void, any Error>)] = [:]

    public init(_ start: Date = Date(timeIntervalSince1970: 1_800_000_000)) { current = start }

    public func now() -> Date { lock.withLock { current } }

    /// Returns when ``advance(by:)`` or ``advance(to:)`` reaches `deadline`.
    public func sleep(until deadline: Date) async throws {
        let id = UUID()
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let resumeNow: Bool = lock.withLock {
                    guard current < deadline, !Task.isCancelled else { return true }
                    sleepers[id] = (deadline, continuation)
                    return false
                }
                if resumeNow {
                    if Task.isCancelled {
                        continuation.resume(throwing: CancellationError())
                    } else {
                        continuation.resume()
                    }
                }
            }
        } onCancel: {
            lock.withLock { sleepers.removeValue(forKey: id) }?.continuation.resume(throwing: CancellationError())
        }
    }

    /// How many tasks sleep on this clock now: lets a test wait until a timer is armed.
    public var sleeperCount: Int { lock.withLock { sleepers.count } }

    /// Moves the clock forward by `seconds`. Negative values are ignored: time never runs back.
    public func advance(by seconds: TimeInterval) {
        guard seconds > 0 else { return }
        wake(
            lock.withLock {
                current += seconds
                return due()
            })
    }

    /// Sets the clock to `date` if it is later than the current time.
    public func advance(to date: Date) {
        wake(
            lock.withLock {
                current = max(current, date)
                return due()
            })
    }

    /// Removes and returns the sleepers whose deadline has come; the caller holds `lock`.
    private func due() -> [CheckedContinuation<Void, any Error>] {
        let ready = sleepers.filter { $0.value.deadline <= current }
        for id in ready.keys { sleepers[id] = nil }
        return ready.values.map(\.continuation)
    }

    private func wake(_ continuations: [CheckedContinuation<Void, any Error>]) {
        for continuation in continuations { continuation.resume() }
    }
}

/// A clock that reads another clock and adds a fixed offset: how a client shows the *server's*
/// time (offset estimated from HTTP `Date` headers) on a machine whose own clock is skewed.
public struct OffsetWallClock<Base: WallClock>: WallClock {
    public var base: Base
    /// Seconds to add to `base` to get the reference time (server minus local).
    public var offset: TimeInterval

    public init(base: Base, offset: TimeInterval) {
        self.base = base
        self.offset = offset
    }

    public func now() -> Date { base.now() + offset }

    public func sleep(until deadline: Date) async throws { try await base.sleep(until: deadline - offset) }
}
