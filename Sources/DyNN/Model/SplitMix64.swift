/// SplitMix64 (Steele, Lea and Flood 2014): the generator behind synthetic weights. Tiny, fast and
/// identical on every platform, so a seed always means the same model. Public so tests and tools
/// draw their deterministic inputs from this one implementation.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [low, high): the top 53 bits as a Double in [0, 1), scaled, then rounded to Float.
    public mutating func uniform(_ low: Double, _ high: Double) -> Float {
        let unit = Double(next() >> 11) * 0x1p-53
        return Float(low + (high - low) * unit)
    }
}
