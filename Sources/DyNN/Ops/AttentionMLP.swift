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

extension AttentionMLP {
    /// Channels it pools (FC1's input width).
    public var inputCount: Int { fc1Weight.rank == 2 ? fc1Weight.shape[1] : 0 }
    public var hiddenCount: Int { fc1Weight.rank == 2 ? fc1Weight.shape[0] : 0 }
    /// Logits it returns (FC2's output width).
    public var outputCount: Int { fc2Weight.rank == 2 ? fc2Weight.shape[0] : 0 }

    /// Stored floats: both weights and any biases.
    public var parameterCount: Int {
        fc1Weight.count + (fc1Bias?.count ?? 0) + fc2Weight.count + (fc2Bias?.count ?? 0)
    }

    /// Multiply-adds per sample: the GAP over `C*H*W` plus the two fully connected layers.
    func macs(channels: Int, height: Int, width: Int) -> Int {
        channels * height * width + inputCount * hiddenCount + hiddenCount * outputCount
    }

    /// The weights must chain `channels -> hidden -> outputs`; `owner` names the op in errors.
    func validate(channels: Int, outputs: Int, owner: String) throws(ShapeError) {
        guard fc1Weight.rank == 2, fc1Weight.shape[0] >= 1 else {
            throw ShapeError("\(owner) fc1_weight must be [hidden, in], got \(fc1Weight.shape)")
        }
        let hidden = fc1Weight.shape[0]
        guard fc1Weight.shape[1] == channels else {
            throw ShapeError("\(owner) input has \(channels) channels, fc1_weight expects \(fc1Weight.shape[1])")
        }
        if let bias = fc1Bias { try ShapeChecks.stored(bias, [hidden], role: "fc1_bias", op: owner) }
        try ShapeChecks.stored(fc2Weight, [outputs, hidden], role: "fc2_weight", op: owner)
        if let bias = fc2Bias { try ShapeChecks.stored(bias, [outputs], role: "fc2_bias", op: owner) }
    }

    /// `FC2(ReLU(FC1(pooled)))` for one sample's pooled channel means.
    func logits(pooled: [Float]) -> [Float] {
        let hidden = hiddenCount, inputs = inputCount, outputs = outputCount
        var h = [Float](repeating: 0, count: hidden)
        for j in 0..<hidden {
            var sum = fc1Bias?.data[j] ?? 0
            for i in 0..<inputs { sum += fc1Weight.data[j * inputs + i] * pooled[i] }
            h[j] = max(sum, 0)
        }
        var z = [Float](repeating: 0, count: outputs)
        for o in 0..<outputs {
            var sum = fc2Bias?.data[o] ?? 0
            for j in 0..<hidden { sum += fc2Weight.data[o * hidden + j] * h[j] }
            z[o] = sum
        }
        return z
    }

    /// Logits of every sample of an NCHW `input`: `[N][outputs]`.
    func logits(of input: Tensor) -> [[Float]] {
        GlobalAvgPool.channelMeans(of: input).map { logits(pooled: $0) }
    }
}
