/// How a dynamic convolution turns attention logits into expert weights.
public enum Routing: String, Sendable, Codable {
    /// `softmax(z / tau)`: Dynamic Convolution (Chen et al. 2020). Weights sum to 1.
    case softmax
    /// `sigmoid(z)`: CondConv (Yang et al. 2019). Weights need not sum to 1.
    case sigmoid
}

/// Dynamic convolution: per sample, `W(x) = sum_k pi_k(x) W_k`, `b(x) = sum_k pi_k(x) b_k`, then conv.
public struct DynamicConv2d: Sendable {
    /// `[K, out, in / groups, kh, kw]`
    public var experts: Tensor
    /// `[K, out]`
    public var expertBias: Tensor?
    /// Maps GAP(x) of the input channels to K logits.
    public var attention: AttentionMLP
    public var routing: Routing
    /// The model's tau for this layer; `RunOptions.temperature` overrides it.
    public var temperature: Float
    public var geometry: ConvGeometry

    public init(experts: Tensor, expertBias: Tensor?, attention: AttentionMLP, routing: Routing,
                temperature: Float, geometry: ConvGeometry) {
        self.experts = experts
        self.expertBias = expertBias
        self.attention = attention
        self.routing = routing
        self.temperature = temperature
        self.geometry = geometry
    }

    public var expertCount: Int { experts.shape[0] }
}
