/// Where one node's time went in a profiled forward pass (`FastEngine.runProfiled`), in nanoseconds.
/// Phases a node does not have stay 0.
public struct LayerTiming: Sendable, Equatable {
    /// The node name from `model.json`.
    public var name: String
    /// The op name (`dynamic_conv2d`, `conv2d`, `dy_relu`, ...); `+relu6` etc. marks a fused activation.
    public var op: String
    /// GAP + attention MLP + softmax/sigmoid (dynamic convolution), or GAP + hyper MLP (DY-ReLU).
    public var attentionNs: UInt64
    /// `sum_k pi_k W_k` and the aggregated bias, all samples of the batch.
    public var aggregationNs: UInt64
    /// The oneDNN convolution (with any fused activation), or a reference op the fast path does not cover.
    public var convolutionNs: UInt64
    /// Element-wise passes: activations, DY-ReLU application, add, normalise, pooling, layout changes.
    public var activationNs: UInt64

    public init(name: String, op: String, attentionNs: UInt64 = 0, aggregationNs: UInt64 = 0,
                convolutionNs: UInt64 = 0, activationNs: UInt64 = 0) {
        self.name = name
        self.op = op
        self.attentionNs = attentionNs
        self.aggregationNs = aggregationNs
        self.convolutionNs = convolutionNs
        self.activationNs = activationNs
    }

    public var totalNs: UInt64 { attentionNs + aggregationNs + convolutionNs + activationNs }

    /// The same node's time in another pass added (a batch run as several chunks).
    func adding(_ other: LayerTiming) -> LayerTiming {
        LayerTiming(name: name, op: op, attentionNs: attentionNs + other.attentionNs,
                    aggregationNs: aggregationNs + other.aggregationNs, convolutionNs: convolutionNs + other.convolutionNs,
                    activationNs: activationNs + other.activationNs)
    }
}
