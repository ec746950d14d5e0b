/// Summary of a benchmark's timed iterations.
///
/// Definitions (stated here because "median" and "p90" have several conventions):
/// - median: the middle value of the sorted samples; for an even count, the mean of the two middle values.
/// - p90: nearest rank. With the samples sorted ascending and n of them, the value at 1-based rank
///   ceil(0.9 * n). So at least 90 % of the samples are <= p90, and p90 is always one of the samples
///   (for n < 10 it is the maximum).
public struct LatencyStatistics: Sendable, Equatable {
    public var count: Int
    public var median: Double
    public var p90: Double
    public var minimum: Double
    public var maximum: Double
    public var mean: Double

    /// nil when `samples` is empty or holds a non-finite value (a clock cannot produce one).
    public init?(_ samples: [Double]) {
        guard !samples.isEmpty, samples.allSatisfy(\.isFinite) else { return nil }
        let sorted = samples.sorted()
        let n = sorted.count
        count = n
        median = n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2
        // ceil(0.9 * n) in integers, so 0.9 * 10 cannot round up to rank 10 by floating-point error.
        let rank = (9 * n + 9) / 10
        p90 = sorted[rank - 1]
        minimum = sorted[0]
        maximum = sorted[n - 1]
        mean = sorted.reduce(0, +) / Double(n)
    }
}
