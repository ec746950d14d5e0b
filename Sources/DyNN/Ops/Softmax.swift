/// Softmax over `axis` (1 for `[N, classes]`).
public struct Softmax: Sendable {
    public var axis: Int
    public init(axis: Int = 1) { self.axis = axis }
}

extension Softmax {
    /// `axis` as an index into a shape of `rank` dimensions (negative counts from the end).
    func resolvedAxis(rank: Int) -> Int? {
        let resolved = axis < 0 ? axis + rank : axis
        return (0..<rank).contains(resolved) ? resolved : nil
    }
}

extension Softmax: Operator {
    public var opName: String { "softmax" }
    public var arity: Int { 1 }

    public func outputShape(for inputs: [[Int]]) throws(ShapeError) -> [Int] {
        try ShapeChecks.arity(inputs, 1, op: opName)
        let shape = inputs[0]
        guard resolvedAxis(rank: shape.count) != nil else {
            throw ShapeError("softmax axis \(axis) out of range for an input of rank \(shape.count) (\(shape))")
        }
        return shape
    }

    /// Each slice along `axis` becomes `exp(x - max) / sum`: stable for any finite logits.
    public func forward(_ inputs: [Tensor], options: RunOptions) -> (output: Tensor, trace: LayerTrace?) {
        let x = inputs[0]
        let shape = validatedOutputShape(inputs)
        let axis = resolvedAxis(rank: shape.count)!  // checked by validatedOutputShape
        let length = shape[axis]
        let outer = shape[..<axis].reduce(1, *)
        let inner = shape[(axis + 1)...].reduce(1, *)
        var y = x.data
        for o in 0..<outer {
            for i in 0..<inner {
                // Elements of one slice sit `inner` apart.
                let base = o * length * inner + i
                let slice = (0..<length).map { y[base + $0 * inner] }
                for (j, p) in Probability.softmax(slice).enumerated() { y[base + j * inner] = p }
            }
        }
        return (Tensor(shape: shape, data: y), nil)
    }

    public func cost(for inputs: [[Int]]) -> OpCost { OpCost(parameters: 0, macs: 0) }
}
