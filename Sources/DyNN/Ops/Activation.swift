/// Element-wise activations without parameters.
public enum ActivationKind: String, Sendable, Codable {
    case relu, relu6
    case hardSwish = "hard_swish"
    case sigmoid
    /// `x * sigmoid(x)` (SiLU, "swish").
    case silu
    /// `relu6(x + 3) / 6` (PyTorch `nn.Hardsigmoid`).
    case hardSigmoid = "hard_sigmoid"
}

public struct Activation: Sendable {
    public var kind: ActivationKind
    public init(_ kind: ActivationKind) { self.kind = kind }
}

extension ActivationKind {
    /// The activation of one value.
    public func callAsFunction(_ x: Float) -> Float {
        switch self {
        case .relu: max(x, 0)
        case .relu6: min(max(x, 0), 6)
        case .hardSwish: x * min(max(x + 3, 0), 6) / 6
        case .sigmoid: Probability.sigmoid(x)
        case .silu: x * Probability.sigmoid(x)
        case .hardSigmoid: min(max(x + 3, 0), 6) / 6
        }
    }
}

extension Activation: Operator {
    public var opName: String { kind.rawValue }
    public var arity: Int { 1 }

    public func outputShape(for inputs: [[Int]]) throws(ShapeError) -> [Int] {
        try ShapeChecks.arity(inputs, 1, op: opName)
        return inputs[0]
    }

    public func forward(_ inputs: [Tensor], options: RunOptions) -> (output: Tensor, trace: LayerTrace?) {
        let x = inputs[0]
        _ = validatedOutputShape(inputs)
        return (Tensor(shape: x.shape, data: x.data.map { kind($0) }), nil)
    }

    public func cost(for inputs: [[Int]]) -> OpCost { OpCost(parameters: 0, macs: 0) }
}
