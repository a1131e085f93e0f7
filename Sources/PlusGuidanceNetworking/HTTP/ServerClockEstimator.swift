import Foundation
import PlusGuidanceDomain

/// Estimates how far the server's clock is from this machine's, from the `Date` headers of API
/// answers, so countdowns, overtime and offer expiry shown to a user follow server time (R4, R6)
/// even when the local clock is off by hours.
///
/// Each sample assumes the server stamped its `Date` at the midpoint of the round trip; `Date`
/// has one-second resolution, so the stamp is taken as the middle of its second. The estimate is
/// the median of the most recent samples, which one slow or odd answer cannot move. When the
/// server says its time outright (the event stream's `time` event, sent when it opens and when
/// the server's clock is stepped), ``restart(serverDate:receivedAt:)`` starts over from it.
///
/// ```swift
/// var estimator = ServerClockEstimator()
/// estimator.record(serverDate: dateHeader, sentAt: t0, receivedAt: t1)
/// let serverNow = OffsetWallClock(base: SystemWallClock(), offset: estimator.offset ?? 0)
/// ```
public struct ServerClockEstimator: Hashable, Sendable {
    /// How many recent samples the median is taken over.
    public let capacity: Int
    private var samples: [TimeInterval] = []

    public init(capacity: Int = 9) { self.capacity = max(1, capacity) }

    /// Adds one sample: the server's time, and the local times the request was sent and the
    /// answer received. `resolution` is the precision of the server's stamp: one second for
    /// `Date`, a millisecond for `Server-Time`; the stamp is taken as the middle of that span.
    /// Samples with a negative round trip are ignored.
    public mutating func record(serverDate: Date, sentAt: Date, receivedAt: Date, resolution: TimeInterval = 1) {
        guard receivedAt >= sentAt else { return }
        let midpoint = sentAt + receivedAt.timeIntervalSince(sentAt) / 2
        samples.append(serverDate.timeIntervalSince(midpoint) + resolution / 2)
        if samples.count > capacity { samples.removeFirst(samples.count - capacity) }
    }

    /// Forgets every sample and starts over from the server's time `serverDate` (to the
    /// millisecond), received at local time `receivedAt`: the server told its time outright,
    /// perhaps because its clock was stepped, which the median of older samples would hide.
    public mutating func restart(serverDate: Date, receivedAt: Date) {
        samples = [serverDate.timeIntervalSince(receivedAt) + 0.0005]
    }

    /// Server time minus local time, in seconds; `nil` before the first sample.
    public var offset: TimeInterval? {
        guard !samples.isEmpty else { return nil }
        let sorted = samples.sorted()
        let middle = sorted.count / 2
        return sorted.count.isMultiple(of: 2) ? (sorted[middle - 1] + sorted[middle]) / 2 : sorted[middle]
    }

    /// How many samples the estimate rests on.
    public var sampleCount: Int { samples.count }
}
