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
    // @unchecked: the only state is `current`, and every access to it holds `lock`.
    private let lock = NSLock()
    private var current: Date

    public init(_ start: Date = Date(timeIntervalSince1970: 1_800_000_000)) { current = start }

    public func now() -> Date { lock.withLock { current } }

    /// Moves the clock forward by `seconds`. Negative values are ignored: time never runs back.
    public func advance(by seconds: TimeInterval) {
        guard seconds > 0 else { return }
        lock.withLock { current += seconds }
    }

    /// Sets the clock to `date` if it is later than the current time.
    public func advance(to date: Date) {
        lock.withLock { current = max(current, date) }
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
}
