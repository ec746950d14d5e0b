extension Tensor {
    /// A tensor of values uniform in [low, high) from SplitMix64(seed): the same numbers on every
    /// platform, so every engine and every run of a benchmark sees the same input.
    public static func seededUniform(shape: [Int], seed: UInt64, low: Float = 0, high: Float = 1) -> Tensor {
        var generator = SplitMix64(seed: seed)
        let count = shape.reduce(1, *)
        var data = [Float](repeating: 0, count: count)
        for index in 0..<count {
            data[index] = generator.uniform(Double(low), Double(high))
        }
        return Tensor(shape: shape, data: data)
    }
}
