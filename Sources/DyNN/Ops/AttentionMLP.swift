/// GAP -> FC1 -> ReLU -> FC2: the hyper-network shared by dynamic convolution and DY-ReLU.
/// Returns the raw FC2 outputs (logits); the caller applies routing or squashing.
public struct AttentionMLP: Sendable {
    /// `[hidden, in]`
    public var fc1Weight: Tensor
    /// `[hidden]`
    public var fc1Bias: Tensor?
    /// `[out, hidden]`
    public var fc2Weight: Tensor
    /// `[out]`
    public var fc2Bias: Tensor?

    public init(fc1Weight: Tensor, fc1Bias: Tensor?, fc2Weight: Tensor, fc2Bias: Tensor?) {
        self.fc1Weight = fc1Weight
        self.fc1Bias = fc1Bias
        self.fc2Weight = fc2Weight
        self.fc2Bias = fc2Bias
    }
}
