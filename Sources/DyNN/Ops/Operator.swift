/// One node's computation: a small value holding its (already folded) weights and attributes.
///
/// `forward` is the reference implementation: plain, readable Swift that defines what the op
/// computes. Faster paths elsewhere must agree with it.
public protocol Operator: Sendable {
    /// The op's name as written in `model.json` (`conv2d`, `dy_relu`, ...).
    var opName: String { get }
    /// How many graph values the op consumes.
    var arity: Int { get }
    /// The output shape for these input shapes (batch dimension included), or why they are impossible.
    func outputShape(for inputs: [[Int]]) throws(ShapeError) -> [Int]
    /// Computes the output. Returns a trace record when `options.trace` asks for this op's kind.
    func forward(_ inputs: [Tensor], options: RunOptions) -> (output: Tensor, trace: LayerTrace?)
    /// Stored parameters and multiply-adds for one sample with these input shapes.
    func cost(for inputs: [[Int]]) -> OpCost
}

/// Why an op cannot accept the shapes it was given.
public struct ShapeError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Size of one op: parameters stored, multiply-adds per sample (attention and kernel aggregation included).
public struct OpCost: Sendable, Equatable {
    public var parameters: Int
    public var macs: Int
    public init(parameters: Int, macs: Int) {
        self.parameters = parameters
        self.macs = macs
    }
}
