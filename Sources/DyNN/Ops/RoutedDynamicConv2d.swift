/// Dynamic convolution with external routing: inputs `[x, r]`, `r` of shape `[N, K]` made by another
/// node (normally an `expert_routing` shared by the convolutions of one block, as CondConv does).
/// Per sample `W = sum_k r_k W_k`, `b = sum_k r_k b_k`, then the convolution. It has no attention
/// network of its own, and its trace names the routing node instead of repeating its weights.
public struct RoutedDynamicConv2d: Sendable {
    /// `[K, out, in / groups, kh, kw]`
    public var experts: Tensor
    /// `[K, out]`
    public var expertBias: Tensor?
    public var geometry: ConvGeometry
    /// The node (or graph input) whose value is `r`, reported in traces as `routed_by`.
    public var routedBy: String

    public init(experts: Tensor, expertBias: Tensor?, geometry: ConvGeometry, routedBy: String) {
        self.experts = experts
        self.expertBias = expertBias
        self.geometry = geometry
        self.routedBy = routedBy
    }

    public var expertCount: Int { experts.shape[0] }
    /// The shape of one expert: `[out, in / groups, kh, kw]`.
    var expertShape: [Int] { Array(experts.shape.dropFirst()) }
}

extension RoutedDynamicConv2d: Operator {
    public var opName: String { "dynamic_conv2d" }
    public var arity: Int { 2 }

    public func outputShape(for inputs: [[Int]]) throws(ShapeError) -> [Int] {
        try ShapeChecks.arity(inputs, 2, op: opName)
        guard experts.rank == 5, experts.shape[0] >= 1 else {
            throw ShapeError("dynamic_conv2d weight must be [K, out, in/groups, kh, kw], got \(experts.shape)")
        }
        let shape = try geometry.convolutionOutputShape(input: inputs[0], weightShape: expertShape, op: opName)
        let routing = inputs[1]
        guard routing.count == 2, routing[0] == inputs[0][0], routing[1] == expertCount else {
            throw ShapeError("dynamic_conv2d routing input must be [N, K] = [\(inputs[0][0]), \(expertCount)] "
                + "(the batch of x, experts K), got \(routing)")
        }
        if let expertBias {
            try ShapeChecks.stored(expertBias, [expertCount, shape[1]], role: "bias", op: opName)
        }
        return shape
    }

    public func forward(_ inputs: [Tensor], options: RunOptions) -> (output: Tensor, trace: LayerTrace?) {
        let (x, r) = (inputs[0], inputs[1])
        let outShape = validatedOutputShape(inputs)
        let k = expertCount
        let pi = (0..<x.shape[0]).map { n in Array(r.data[(n * k)..<((n + 1) * k)]) }
        let output = ExpertConvolution.forward(x, experts: experts, expertBias: expertBias, pi: pi,
                                               geometry: geometry, outputShape: outShape)
        let trace = options.trace >= .attention ? LayerTrace(op: opName, routedBy: routedBy) : nil
        return (output, trace)
    }

    /// MACs: the convolution with the aggregated kernel and the aggregation; the routing is its own node's.
    public func cost(for inputs: [[Int]]) -> OpCost {
        let parameters = experts.count + (expertBias?.count ?? 0)
        guard let out = try? outputShape(for: inputs) else { return OpCost(parameters: parameters, macs: 0) }
        return OpCost(parameters: parameters, macs: ExpertConvolution.macs(experts: experts, hasBias: expertBias != nil, output: out))
    }
}

extension RoutedDynamicConv2d {
    /// This convolution followed by `bn`, for the fast backend: every expert scaled per output channel,
    /// `W_k <- W_k * s`, `b_k <- b_k * s`, and the batch norm's `shift = beta - mean * s` returned apart,
    /// to be added after the aggregation. Exact for any routing weights r, since
    /// `s * (conv(x, sum_k r_k W_k) + sum_k r_k b_k) + shift = conv(x, sum_k r_k s W_k) + sum_k r_k s b_k + shift`;
    /// folding the shift into the expert biases (as for softmax routing) would need `sum_k r_k = 1`.
    /// The caller checks first that `bn` has one channel per output channel.
    func folding(_ bn: BatchNorm) -> (conv: RoutedDynamicConv2d, shift: [Float]) {
        let outChannels = experts.shape[1]
        precondition(bn.channelCount == outChannels,
                     "batch_norm has \(bn.channelCount) channels, dynamic_conv2d produces \(outChannels)")
        let (scale, shift) = bn.scaleAndShift()
        let bias = expertBias.map { b in
            Tensor(shape: b.shape, data: b.data.indices.map { b.data[$0] * scale[$0 % outChannels] })
        }
        return (RoutedDynamicConv2d(experts: ExpertConvolution.scalingOutputChannels(experts, by: scale), expertBias: bias,
                                    geometry: geometry,
                                    routedBy: routedBy), shift)
    }
}
