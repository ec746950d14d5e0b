/// Inference-mode batch normalisation over the channel axis:
/// `y = (x - mean) / sqrt(var + eps) * gamma + beta` = `x * scale + shift`.
/// Usually folded into the preceding convolution at load time; kept as a node after sigmoid routing.
public struct BatchNorm: Sendable {
    public var gamma: Tensor
    public var beta: Tensor
    public var mean: Tensor
    public var variance: Tensor
    public var eps: Float

    public init(gamma: Tensor, beta: Tensor, mean: Tensor, variance: Tensor, eps: Float) {
        self.gamma = gamma
        self.beta = beta
        self.mean = mean
        self.variance = variance
        self.eps = eps
    }
}

extension BatchNorm {
    public var channelCount: Int { gamma.count }

    /// `scale = gamma / sqrt(var + eps)`, `shift = beta - mean * scale`, one per channel.
    public func scaleAndShift() -> (scale: [Float], shift: [Float]) {
        let scale = (0..<channelCount).map { gamma.data[$0] / (variance.data[$0] + eps).squareRoot() }
        let shift = (0..<channelCount).map { beta.data[$0] - mean.data[$0] * scale[$0] }
        return (scale, shift)
    }
}

extension BatchNorm: Operator {
    public var opName: String { "batch_norm" }
    public var arity: Int { 1 }

    /// Any `[N, C, ...]` input whose C matches the four vectors.
    public func outputShape(for inputs: [[Int]]) throws(ShapeError) -> [Int] {
        try ShapeChecks.arity(inputs, 1, op: opName)
        let shape = inputs[0]
        let c = channelCount
        guard gamma.rank == 1 else { throw ShapeError("batch_norm weight must be [C], got \(gamma.shape)") }
        try ShapeChecks.stored(beta, [c], role: "bias", op: opName)
        try ShapeChecks.stored(mean, [c], role: "running_mean", op: opName)
        try ShapeChecks.stored(variance, [c], role: "running_var", op: opName)
        guard shape.count >= 2 else { throw ShapeError("batch_norm expects [N, C, ...], got \(shape)") }
        guard shape[1] == c else { throw ShapeError("batch_norm input has \(shape[1]) channels, expected \(c)") }
        return shape
    }

    public func forward(_ inputs: [Tensor], options: RunOptions) -> (output: Tensor, trace: LayerTrace?) {
        let x = inputs[0]
        _ = validatedOutputShape(inputs)
        let (scale, shift) = scaleAndShift()
        let channels = x.shape[1]
        let plane = x.shape.dropFirst(2).reduce(1, *)
        var y = x.data
        y.withUnsafeMutableBufferPointer { out in
            for n in 0..<x.shape[0] {
                for c in 0..<channels {
                    let base = (n * channels + c) * plane
                    let s = scale[c], t = shift[c]
                    for i in base..<(base + plane) { out[i] = out[i] * s + t }
                }
            }
        }
        return (Tensor(shape: x.shape, data: y), nil)
    }

    /// Four stored vectors; as a separate node it costs no multiply-adds by convention.
    public func cost(for inputs: [[Int]]) -> OpCost {
        OpCost(parameters: gamma.count + beta.count + mean.count + variance.count, macs: 0)
    }
}
