/// Element-wise sum of two tensors of the same shape (residual connections).
public struct Add: Sendable {
    public init() {}
}

extension Add: Operator {
    public var opName: String { "add" }
    public var arity: Int { 2 }

    public func outputShape(for inputs: [[Int]]) throws(ShapeError) -> [Int] {
        try ShapeChecks.arity(inputs, 2, op: opName)
        guard inputs[0] == inputs[1] else {
            throw ShapeError("add needs equal shapes, got \(inputs[0]) and \(inputs[1])")
        }
        return inputs[0]
    }

    public func forward(_ inputs: [Tensor], options: RunOptions) -> (output: Tensor, trace: LayerTrace?) {
        _ = validatedOutputShape(inputs)
        var y = inputs[0].data
        let other = inputs[1].data
        for i in y.indices { y[i] += other[i] }
        return (Tensor(shape: inputs[0].shape, data: y), nil)
    }

    public func cost(for inputs: [[Int]]) -> OpCost { OpCost(parameters: 0, macs: 0) }
}
