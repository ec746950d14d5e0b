/// A static 2-D convolution, NCHW, with optional bias.
public struct Conv2d: Sendable {
    /// `[out, in / groups, kh, kw]`
    public var weight: Tensor
    /// `[out]`
    public var bias: Tensor?
    public var geometry: ConvGeometry

    public init(weight: Tensor, bias: Tensor?, geometry: ConvGeometry) {
        self.weight = weight
        self.bias = bias
        self.geometry = geometry
    }
}

extension Conv2d: Operator {
    public var opName: String { "conv2d" }
    public var arity: Int { 1 }

    public func outputShape(for inputs: [[Int]]) throws(ShapeError) -> [Int] {
        try ShapeChecks.arity(inputs, 1, op: opName)
        let shape = try geometry.convolutionOutputShape(input: inputs[0], weightShape: weight.shape, op: opName)
        if let bias { try ShapeChecks.stored(bias, [shape[1]], role: "bias", op: opName) }
        return shape
    }

    public func forward(_ inputs: [Tensor], options: RunOptions) -> (output: Tensor, trace: LayerTrace?) {
        let x = inputs[0]
        let outShape = validatedOutputShape(inputs)
        let problem = ConvProblem(geometry: geometry, input: x.shape, output: outShape)
        let batch = x.shape[0]
        let output = [Float](unsafeUninitializedCapacity: outShape.reduce(1, *)) { out, initialized in
            x.data.withUnsafeBufferPointer { input in
                weight.data.withUnsafeBufferPointer { w in
                    withOptionalBuffer(bias) { b in
                        for n in 0..<batch {
                            problem.convolveSample(input: input.baseAddress! + n * problem.inputSampleCount,
                                                   weight: w.baseAddress!, bias: b,
                                                   output: out.baseAddress! + n * problem.outputSampleCount)
                        }
                    }
                }
            }
            initialized = out.count
        }
        return (Tensor(shape: outShape, data: output), nil)
    }

    /// Parameters: weight and bias. MACs: every output element costs `(in / groups) * kh * kw`.
    public func cost(for inputs: [[Int]]) -> OpCost {
        let parameters = weight.count + (bias?.count ?? 0)
        guard let out = try? outputShape(for: inputs) else { return OpCost(parameters: parameters, macs: 0) }
        let perOutput = weight.shape[1] * weight.shape[2] * weight.shape[3]
        return OpCost(parameters: parameters, macs: out[1] * out[2] * out[3] * perOutput)
    }
}

extension Conv2d {
    /// This convolution followed by `bn`, as one convolution: `W <- W * s` per output channel,
    /// `b <- (b - mean) * s + beta`, `s = gamma / sqrt(var + eps)`.
    /// The caller checks first that `bn` has one channel per output channel.
    public func folding(_ bn: BatchNorm) -> Conv2d {
        let outChannels = weight.shape[0]
        precondition(bn.channelCount == outChannels,
                     "batch_norm has \(bn.channelCount) channels, conv2d produces \(outChannels)")
        let (scale, shift) = bn.scaleAndShift()
        let perChannel = weight.count / outChannels
        var w = weight.data
        for oc in 0..<outChannels {
            for i in 0..<perChannel { w[oc * perChannel + i] *= scale[oc] }
        }
        // (b - mean) * s + beta = b * s + shift
        let oldBias = bias?.data ?? [Float](repeating: 0, count: outChannels)
        let b = (0..<outChannels).map { oldBias[$0] * scale[$0] + shift[$0] }
        return Conv2d(weight: Tensor(shape: weight.shape, data: w),
                      bias: Tensor(shape: [outChannels], data: b), geometry: geometry)
    }
}

/// Runs `body` with a pointer to an optional tensor's data (nil when the tensor is absent).
func withOptionalBuffer<R>(_ tensor: Tensor?, _ body: (UnsafePointer<Float>?) -> R) -> R {
    guard let tensor else { return body(nil) }
    return tensor.data.withUnsafeBufferPointer { body($0.baseAddress) }
}
