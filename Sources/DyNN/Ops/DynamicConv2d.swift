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

extension DynamicConv2d {
    /// The shape of one expert: `[out, in / groups, kh, kw]`.
    var expertShape: [Int] { Array(experts.shape.dropFirst()) }

    /// The tau a forward pass uses: the request's if it set one, else the layer's.
    func effectiveTemperature(_ options: RunOptions) -> Float {
        options.temperature ?? temperature
    }

    /// Routing weights per sample, `pi[n][k]`: `softmax(z / tau)` or `sigmoid(z)`.
    func routingWeights(of input: Tensor, temperature tau: Float) -> [[Float]] {
        attention.logits(of: input).map { z in
            switch routing {
            case .softmax: Probability.softmax(z, temperature: tau)
            case .sigmoid: z.map(Probability.sigmoid)
            }
        }
    }
}

extension DynamicConv2d: Operator {
    public var opName: String { "dynamic_conv2d" }
    public var arity: Int { 1 }

    public func outputShape(for inputs: [[Int]]) throws(ShapeError) -> [Int] {
        try ShapeChecks.arity(inputs, 1, op: opName)
        guard experts.rank == 5, experts.shape[0] >= 1 else {
            throw ShapeError("dynamic_conv2d weight must be [K, out, in/groups, kh, kw], got \(experts.shape)")
        }
        let shape = try geometry.convolutionOutputShape(input: inputs[0], weightShape: expertShape, op: opName)
        if let expertBias {
            try ShapeChecks.stored(expertBias, [expertCount, shape[1]], role: "bias", op: opName)
        }
        try attention.validate(channels: inputs[0][1], outputs: expertCount, owner: opName)
        return shape
    }

    public func forward(_ inputs: [Tensor], options: RunOptions) -> (output: Tensor, trace: LayerTrace?) {
        let x = inputs[0]
        let outShape = validatedOutputShape(inputs)
        let tau = effectiveTemperature(options)
        let pi = routingWeights(of: x, temperature: tau)
        let output = ExpertConvolution.forward(x, experts: experts, expertBias: expertBias, pi: pi,
                                               geometry: geometry, outputShape: outShape)

        let trace = options.trace >= .attention
            ? LayerTrace(op: opName, attention: AttentionTrace(routing, temperature: tau, pi: pi)) : nil
        return (output, trace)
    }

    /// MACs: the convolution with the aggregated kernel, the aggregation itself
    /// (`K * (weight + bias elements)`) and the attention MLP with its GAP.
    public func cost(for inputs: [[Int]]) -> OpCost {
        let parameters = experts.count + (expertBias?.count ?? 0) + attention.parameterCount
        guard let out = try? outputShape(for: inputs) else { return OpCost(parameters: parameters, macs: 0) }
        let input = inputs[0]
        let attentionMacs = attention.macs(channels: input[1], height: input[2], width: input[3])
        return OpCost(parameters: parameters,
                      macs: ExpertConvolution.macs(experts: experts, hasBias: expertBias != nil, output: out) + attentionMacs)
    }
}

extension DynamicConv2d {
    /// This dynamic convolution followed by `bn`, folded into every expert:
    /// `W_k <- W_k * s` per output channel, `b_k <- (b_k - mean) * s + beta`.
    /// Exact only for softmax routing (the weights sum to 1, so the folded biases aggregate to the
    /// folded bias); the loader does not call it for sigmoid routing. The caller checks first that
    /// `bn` has one channel per output channel.
    public func folding(_ bn: BatchNorm) -> DynamicConv2d {
        let k = expertCount
        let outChannels = experts.shape[1]
        precondition(bn.channelCount == outChannels,
                     "batch_norm has \(bn.channelCount) channels, dynamic_conv2d produces \(outChannels)")
        let (scale, shift) = bn.scaleAndShift()
        let oldBias = expertBias?.data ?? [Float](repeating: 0, count: k * outChannels)
        var b = [Float](repeating: 0, count: k * outChannels)
        for e in 0..<k {
            for oc in 0..<outChannels {
                // (b_k - mean) * s + beta = b_k * s + shift
                b[e * outChannels + oc] = oldBias[e * outChannels + oc] * scale[oc] + shift[oc]
            }
        }
        return DynamicConv2d(experts: ExpertConvolution.scalingOutputChannels(experts, by: scale),
                             expertBias: Tensor(shape: [k, outChannels], data: b),
                             attention: attention, routing: routing, temperature: temperature,
                             geometry: geometry)
    }
}
