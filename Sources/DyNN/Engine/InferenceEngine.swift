/// Something that runs a loaded model's forward pass: the reference `Model` itself, or a faster backend
/// built from it. Every backend computes what `Model.run` computes, within FP32 tolerance.
public protocol InferenceEngine: Sendable {
    /// The model this engine runs (spec, nodes, summary).
    var model: Model { get }
    func run(_ inputs: [Tensor], options: RunOptions) throws(RunError) -> RunResult
    /// Nodes this engine runs with their reference op although it is an optimised backend; empty for
    /// the reference engine itself, whose every op is the reference.
    var fallbacks: [ReferenceFallback] { get }
}

extension InferenceEngine {
    public var fallbacks: [ReferenceFallback] { [] }
}

/// Which implementation of the ops runs a model.
public enum Backend: String, Sendable, CaseIterable, Codable {
    /// The plain Swift reference ops: the executable specification and the tests' oracle.
    case reference
    /// The optimised path (oneDNN convolutions, aggregation in the primitive's weight layout).
    case fast
}

extension Model: InferenceEngine {
    public var model: Model { self }
}
