import Foundation

/// The seam through which the server's time is estimated: a clock of elapsed seconds that
/// nothing steps.
///
/// A ``WallClock`` is the calendar and can jump: NTP steps it at boot, a person changes it, a VM
/// is restored from a snapshot. An estimate of the server's time kept as an offset from it moves
/// with every such jump. Kept against an elapsed clock instead, the estimate stays right (R12):
/// on Linux that clock is `CLOCK_BOOTTIME`, which counts a suspend and is never stepped. Its
/// readings mean something only within one boot, so it names the boot it counts from.
///
/// ```swift
/// let clock: any ElapsedClock = SystemElapsedClock()     // from PlusGuidanceNetworking
/// let estimate = ServerTimeEstimate(bootID: clock.bootID, offset: 1_800_000_000, sampledAt: clock.elapsed())
/// estimate.serverNow(on: clock)                          // nil after a reboot
/// ```
public protocol ElapsedClock: Sendable {
    /// Seconds since this clock's origin (the boot). Never decreases within one ``bootID``.
    func elapsed() -> TimeInterval
    /// Names the origin: readings of two different boots cannot be compared.
    var bootID: String { get }
}

/// The server's time as a device estimated it: the server's clock (seconds since 2001-01-01,
/// as `Date` counts) minus an ``ElapsedClock``'s reading, in one boot. A value shared by the
/// processes of a profile through its cache.
public struct ServerTimeEstimate: Hashable, Sendable, Codable {
    /// The boot the offset was measured in (``ElapsedClock/bootID``).
    public var bootID: String
    /// Server time minus elapsed time, in seconds.
    public var offset: TimeInterval
    /// The elapsed time of the latest sample the estimate rests on: of two estimates of one boot,
    /// the later measured is the one to use (a server step reaches the other processes that way).
    public var sampledAt: TimeInterval

    public init(bootID: String, offset: TimeInterval, sampledAt: TimeInterval) {
        self.bootID = bootID
        self.offset = offset
        self.sampledAt = sampledAt
    }

    /// The server's time now on `clock`; `nil` when `clock` counts from another boot than the
    /// estimate (the machine restarted since: nothing is known until a new sample).
    public func serverNow(on clock: any ElapsedClock) -> Date? {
        guard clock.bootID == bootID else { return nil }
        return Date(timeIntervalSinceReferenceDate: clock.elapsed() + offset)
    }

    /// The fresher of two estimates for `clock`'s boot; `nil` when neither is of this boot.
    public static func freshest(
        _ first: ServerTimeEstimate?, _ second: ServerTimeEstimate?, on clock: any ElapsedClock
    ) -> ServerTimeEstimate? {
        let current = [first, second].compactMap { $0 }.filter { $0.bootID == clock.bootID }
        return current.max { $0.sampledAt < $1.sampledAt }
    }
}

extension ManualWallClock: ElapsedClock {
    /// The manual time itself, in seconds since 2001-01-01: a test that moves this clock moves
    /// elapsed time with it, and never backwards (``advance(by:)`` ignores negative values).
    public func elapsed() -> TimeInterval { now().timeIntervalSinceReferenceDate }
}
