/// Mean over H and W: `[N, C, H, W] -> [N, C, 1, 1]`.
public struct GlobalAvgPool: Sendable {
    public init() {}
}

extension GlobalAvgPool {
    /// The mean of every channel plane of an NCHW tensor, per sample: `[N][C]`.
    /// Shared with the attention and hyper networks, which start with this pooling.
    static func channelMeans(of x: Tensor) -> [[Float]] {
        let (batch, channels) = (x.shape[0], x.shape[1])
        let plane = x.shape[2] * x.shape[3]
        return x.data.withUnsafeBufferPointer { data in
            (0..<batch).map { n in
                (0..<channels).map { c in
                    let base = (n * channels + c) * plane
                    var sum: Float = 0
                    for i in base..<(base + plane) { sum += data[i] }
                    return sum / Float(plane)
                }
            }
        }
    }
}

extension GlobalAvgPool: Operator {
    public var opName: String { "global_avg_pool" }
    public var arity: Int { 1 }

    public func outputShape(for inputs: [[Int]]) throws(ShapeError) -> [Int] {
        try ShapeChecks.arity(inputs, 1, op: opName)
        try ShapeChecks.nchw(inputs[0], op: opName)
        return [inputs[0][0], inputs[0][1], 1, 1]
    }

    public func forward(_ inputs: [Tensor], options: RunOptions) -> (output: Tensor, trace: LayerTrace?) {
        let shape = validatedOutputShape(inputs)
        return (Tensor(shape: shape, data: Self.channelMeans(of: inputs[0]).flatMap { $0 }), nil)
    }

    public func cost(for inputs: [[Int]]) -> OpCost { OpCost(parameters: 0, macs: 0) }
}
