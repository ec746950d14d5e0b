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
