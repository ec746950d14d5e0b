/// `y = x W^T + b`, x `[N, in]`, W `[out, in]`.
public struct Linear: Sendable {
    public var weight: Tensor
    public var bias: Tensor?
    public init(weight: Tensor, bias: Tensor?) {
        self.weight = weight
        self.bias = bias
    }
}

extension Linear: Operator {
    public var opName: String { "linear" }
    public var arity: Int { 1 }

    public func outputShape(for inputs: [[Int]]) throws(ShapeError) -> [Int] {
        try ShapeChecks.arity(inputs, 1, op: opName)
        guard weight.rank == 2, weight.shape.allSatisfy({ $0 >= 1 }) else {
            throw ShapeError("linear weight must be [out, in], got \(weight.shape)")
        }
        if let bias { try ShapeChecks.stored(bias, [weight.shape[0]], role: "bias", op: opName) }
        let shape = inputs[0]
        guard shape.count == 2 else { throw ShapeError("linear expects an input of shape [N, in], got \(shape)") }
        guard shape[1] == weight.shape[1] else {
            throw ShapeError("linear input has \(shape[1]) features, weight expects \(weight.shape[1])")
        }
        return [shape[0], weight.shape[0]]
    }

    public func forward(_ inputs: [Tensor], options: RunOptions) -> (output: Tensor, trace: LayerTrace?) {
        let x = inputs[0]
        let outShape = validatedOutputShape(inputs)
        let (batch, outFeatures, inFeatures) = (x.shape[0], weight.shape[0], weight.shape[1])
        var y = [Float](repeating: 0, count: batch * outFeatures)
        x.data.withUnsafeBufferPointer { xs in
            weight.data.withUnsafeBufferPointer { w in
                for n in 0..<batch {
                    for o in 0..<outFeatures {
                        var sum = bias?.data[o] ?? 0
                        for i in 0..<inFeatures { sum += xs[n * inFeatures + i] * w[o * inFeatures + i] }
                        y[n * outFeatures + o] = sum
                    }
                }
            }
        }
        return (Tensor(shape: outShape, data: y), nil)
    }

    /// MACs per sample: `in * out`.
    public func cost(for inputs: [[Int]]) -> OpCost {
        OpCost(parameters: weight.count + (bias?.count ?? 0), macs: weight.count)
    }
}
