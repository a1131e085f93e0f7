import Foundation

/// The figures the benchmarks print, computed one way: a duration in seconds, the median and
/// the percentiles of samples.
public enum Statistics {
    public static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    /// The middle sample (the upper one of an even count).
    public static func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }

    /// The sample at fraction `p` of `sorted`, samples sorted ascending (nearest rank, rounded down).
    public static func percentile(_ sorted: [Double], _ p: Double) -> Double {
        sorted[min(sorted.count - 1, Int((Double(sorted.count) * p).rounded(.down)))]
    }
}
