/// `[N, d1, d2, ...] -> [N, d1 * d2 * ...]`.
public struct Flatten: Sendable {
    public init() {}
}

extension Flatten: Operator {
    public var opName: String { "flatten" }
    public var arity: Int { 1 }

    public func outputShape(for inputs: [[Int]]) throws(ShapeError) -> [Int] {
        try ShapeChecks.arity(inputs, 1, op: opName)
        let shape = inputs[0]
        guard shape.count >= 2 else { throw ShapeError("flatten expects [N, ...] of rank 2 or more, got \(shape)") }
        return [shape[0], shape.dropFirst().reduce(1, *)]
    }

    public func forward(_ inputs: [Tensor], options: RunOptions) -> (output: Tensor, trace: LayerTrace?) {
        (inputs[0].reshaped(validatedOutputShape(inputs)), nil)
    }

    public func cost(for inputs: [[Int]]) -> OpCost { OpCost(parameters: 0, macs: 0) }
}
