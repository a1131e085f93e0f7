import Foundation
@_spi(PlusGuidanceTools) import PlusGuidanceDomain

/// Estimates the server's clock from the times its answers carry (`Server-Time` to the
/// millisecond, else `Date` to the second), so countdowns, overtime and offer expiry follow
/// server time (R4, R6, R12) whatever this machine's own calendar clock says or does.
///
/// Samples are taken against an `ElapsedClock` (`CLOCK_BOOTTIME`), never against the wall
/// clock: a step of the local clock (NTP at boot, a manual change, a VM snapshot) moves no sample
/// and so no estimate. Each sample assumes the server stamped its time at the midpoint of the
/// round trip, in the middle of the stamp's resolution; the estimate is the median of the most
/// recent samples, which one slow answer cannot move.
///
/// The server's own clock can step too (its test clock, or an operator). A sample further from
/// the estimate than both their uncertainties allow is such a step, or a stale answer (a proxy
/// that replays a stored `Date`):
/// - a millisecond stamp (`Server-Time`, or the event stream's `time` event through
///   ``restart(serverDate:receivedAt:)``) is the server's clock itself: the estimate starts over
///   from it at once;
/// - a `Date` stamp is believed once a second sample confirms it, so the estimate is right again
///   after the next request.
///
/// ```swift
/// let clock = SystemElapsedClock()
/// var estimator = ServerClockEstimator(bootID: clock.bootID)
/// let sent = clock.elapsed()
/// // … the request …
/// estimator.record(serverDate: stamp, sentAt: sent, receivedAt: clock.elapsed(), resolution: 0.001)
/// estimator.estimate?.serverNow(on: clock)
/// ```
public struct ServerClockEstimator: Hashable, Sendable {
    /// How many recent samples the median is taken over.
    public let capacity: Int
    /// The boot of the elapsed clock the samples are read on.
    public let bootID: String
    /// How far apart (beyond the samples' own uncertainty) the server's clock and the estimate
    /// may be before the server's clock counts as stepped. Two machines' clocks drift by well
    /// under a second between samples; a step of the server's clock is seconds or hours.
    public static let stepTolerance: TimeInterval = 1

    private struct Sample: Hashable, Sendable {
        var offset: TimeInterval
        /// Half the span the true offset lies in: half the round trip plus half the stamp's
        /// resolution.
        var uncertainty: TimeInterval
        var at: TimeInterval
    }
    private var samples: [Sample] = []
    /// A coarse sample that disagreed with the estimate, waiting for a second to confirm it.
    private var suspect: Sample?

    public init(capacity: Int = 9, bootID: String) {
        self.capacity = max(1, capacity)
        self.bootID = bootID
    }

    /// Adds one sample: the server's time, and the elapsed times the request was sent and the
    /// answer received. `resolution` is the precision of the server's stamp: one second for
    /// `Date`, a millisecond for `Server-Time`. Samples with a negative round trip are ignored.
    public mutating func record(
        serverDate: Date, sentAt: TimeInterval, receivedAt: TimeInterval, resolution: TimeInterval = 1
    ) {
        guard receivedAt >= sentAt else { return }
        let midpoint = sentAt + (receivedAt - sentAt) / 2
        let sample = Sample(
            offset: serverDate.timeIntervalSinceReferenceDate - midpoint + resolution / 2,
            uncertainty: (receivedAt - sentAt + resolution) / 2, at: receivedAt)
        guard let current = median, !agrees(sample, with: current) else {
            suspect = nil
            return append(sample)
        }
        if resolution <= 0.01 {
            startOver(from: sample)
        } else if let first = suspect, abs(first.offset - sample.offset) <= first.uncertainty + sample.uncertainty + 0.5
        {
            startOver(from: first)
            append(sample)
        } else {
            suspect = sample
        }
    }

    /// Forgets every sample and starts over from the server's time `serverDate` (to the
    /// millisecond), received at elapsed time `receivedAt`: the server told its time outright,
    /// perhaps because its clock was stepped.
    public mutating func restart(serverDate: Date, receivedAt: TimeInterval) {
        startOver(
            from: Sample(
                offset: serverDate.timeIntervalSinceReferenceDate - receivedAt + 0.0005, uncertainty: 0.0005,
                at: receivedAt))
    }

    /// The estimate, to share and to read the server's time from; `nil` before the first sample.
    public var estimate: ServerTimeEstimate? {
        guard let offset = median, let latest = samples.last else { return nil }
        return ServerTimeEstimate(bootID: bootID, offset: offset, sampledAt: latest.at)
    }

    /// How many samples the estimate rests on.
    public var sampleCount: Int { samples.count }

    private var median: TimeInterval? {
        guard !samples.isEmpty else { return nil }
        let sorted = samples.map(\.offset).sorted()
        let middle = sorted.count / 2
        return sorted.count.isMultiple(of: 2) ? (sorted[middle - 1] + sorted[middle]) / 2 : sorted[middle]
    }

    /// Whether `sample` is within what the samples' uncertainty allows of the estimate `current`.
    private func agrees(_ sample: Sample, with current: TimeInterval) -> Bool {
        let spread = samples.map(\.uncertainty).min() ?? 0
        return abs(sample.offset - current) <= sample.uncertainty + spread + Self.stepTolerance
    }

    private mutating func startOver(from sample: Sample) {
        samples = [sample]
        suspect = nil
    }

    private mutating func append(_ sample: Sample) {
        samples.append(sample)
        if samples.count > capacity { samples.removeFirst(samples.count - capacity) }
    }
}
