/// Routing weights computed once and shared by several dynamic convolutions (CondConv's per-block
/// `routing_fn`): `z = weight · GAP(x) + bias` (a rank-2 input is used as is), then `r = sigmoid(z)` or
/// `r = softmax(z / tau)`. Output `[N, K]`, read by 2-input `dynamic_conv2d` nodes (`RoutedDynamicConv2d`).
public struct ExpertRouting: Sendable {
    /// `[K, C]`
    public var weight: Tensor
    /// `[K]`
    public var bias: Tensor?
    public var routing: Routing
    /// The node's tau, else the model's (softmax only); `RunOptions.temperature` overrides it.
    public var temperature: Float

    public init(weight: Tensor, bias: Tensor?, routing: Routing, temperature: Float) {
        self.weight = weight
        self.bias = bias
        self.routing = routing
        self.temperature = temperature
    }

    public var expertCount: Int { weight.shape[0] }
    var inChannels: Int { weight.shape[1] }
}

extension ExpertRouting {
    /// The tau a forward pass uses: the request's if it set one, else the layer's (as `DynamicConv2d`).
    func effectiveTemperature(_ options: RunOptions) -> Float {
        options.temperature ?? temperature
    }

    /// Routing weights of one sample from its pooled channel means.
    func weights(pooled: [Float], temperature tau: Float) -> [Float] {
        let (k, c) = (expertCount, inChannels)
        var z = [Float](repeating: 0, count: k)
        for e in 0..<k {
            var sum = bias?.data[e] ?? 0
            for i in 0..<c { sum += weight.data[e * c + i] * pooled[i] }
            z[e] = sum
        }
        return switch routing {
        case .softmax: Probability.softmax(z, temperature: tau)
        case .sigmoid: z.map(Probability.sigmoid)
        }
    }

    /// The trace of a batch's routing weights: what every convolution it routes used.
    func trace(_ pi: [[Float]], temperature tau: Float) -> LayerTrace {
        LayerTrace(op: opName, attention: AttentionTrace(routing, temperature: tau, pi: pi))
    }
}

extension ExpertRouting: Operator {
    public var opName: String { "expert_routing" }
    public var arity: Int { 1 }

    public func outputShape(for inputs: [[Int]]) throws(ShapeError) -> [Int] {
        try ShapeChecks.arity(inputs, 1, op: opName)
        let shape = inputs[0]
        guard shape.count == 4 || shape.count == 2 else {
            throw ShapeError("expert_routing expects an input of shape [N, C, H, W] or [N, C], got \(shape)")
        }
        guard shape.allSatisfy({ $0 >= 1 }) else { throw ShapeError("expert_routing input \(shape) has an empty dimension") }
        guard weight.rank == 2, weight.shape[0] >= 1 else {
            throw ShapeError("expert_routing weight must be [K, C], got \(weight.shape)")
        }
        guard shape[1] == inChannels else {
            throw ShapeError("expert_routing input has \(shape[1]) channels, weight expects \(inChannels)")
        }
        if let bias { try ShapeChecks.stored(bias, [expertCount], role: "bias", op: opName) }
        return [shape[0], expertCount]
    }

    public func forward(_ inputs: [Tensor], options: RunOptions) -> (output: Tensor, trace: LayerTrace?) {
        let x = inputs[0]
        let shape = validatedOutputShape(inputs)
        let pooled: [[Float]] = x.rank == 4
            ? GlobalAvgPool.channelMeans(of: x)
            : (0..<x.shape[0]).map { n in Array(x.data[(n * inChannels)..<((n + 1) * inChannels)]) }
        let tau = effectiveTemperature(options)
        let pi = pooled.map { weights(pooled: $0, temperature: tau) }
        let trace = options.trace >= .attention ? trace(pi, temperature: tau) : nil
        return (Tensor(shape: shape, data: pi.flatMap { $0 }), trace)
    }

    /// MACs: the GAP (rank-4 inputs) and the fully connected layer.
    public func cost(for inputs: [[Int]]) -> OpCost {
        let parameters = weight.count + (bias?.count ?? 0)
        guard inputs.count == 1 else { return OpCost(parameters: parameters, macs: 0) }
        let pooling = inputs[0].count == 4 ? inputs[0].dropFirst().reduce(1, *) : 0
        return OpCost(parameters: parameters, macs: pooling + weight.count)
    }
}
