/// Element-wise product of two tensors: equal shapes, or one operand `[N, C, 1, 1]` broadcast over the
/// other's `H, W` (`[N, C, H, W]`, same N and C), in either order. Squeeze-and-excitation's `x * gate`.
public struct Mul: Sendable {
    public init() {}
}

extension Mul {
    /// Whether `small` is `[N, C, 1, 1]` and `large` is `[N, C, H, W]` with the same N and C.
    static func broadcasts(_ small: [Int], over large: [Int]) -> Bool {
        small.count == 4 && large.count == 4 && small[0] == large[0] && small[1] == large[1]
            && small[2] == 1 && small[3] == 1
    }
}

extension Mul: Operator {
    public var opName: String { "mul" }
    public var arity: Int { 2 }

    public func outputShape(for inputs: [[Int]]) throws(ShapeError) -> [Int] {
        try ShapeChecks.arity(inputs, 2, op: opName)
        let (a, b) = (inputs[0], inputs[1])
        if a == b { return a }
        if Self.broadcasts(a, over: b) { return b }
        if Self.broadcasts(b, over: a) { return a }
        throw ShapeError("mul needs equal shapes, or [N, C, 1, 1] with [N, C, H, W] (same N and C), got \(a) and \(b)")
    }

    public func forward(_ inputs: [Tensor], options: RunOptions) -> (output: Tensor, trace: LayerTrace?) {
        let shape = validatedOutputShape(inputs)
        let (a, b) = (inputs[0], inputs[1])
        if a.shape == b.shape {
            var y = a.data
            for i in y.indices { y[i] *= b.data[i] }
            return (Tensor(shape: shape, data: y), nil)
        }
        // One value per (n, c) plane of the other operand.
        let (gate, x) = a.count < b.count ? (a, b) : (b, a)
        let plane = shape[2] * shape[3]
        var y = x.data
        for row in 0..<(shape[0] * shape[1]) {
            let g = gate.data[row]
            for i in (row * plane)..<((row + 1) * plane) { y[i] *= g }
        }
        return (Tensor(shape: shape, data: y), nil)
    }

    public func cost(for inputs: [[Int]]) -> OpCost { OpCost(parameters: 0, macs: 0) }
}
