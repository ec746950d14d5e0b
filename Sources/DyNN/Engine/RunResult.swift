/// What one forward pass produced.
public struct RunResult: Sendable {
    /// In `ModelSpec.outputs` order.
    public var outputs: [Tensor]
    /// One entry per traced dynamic layer, in network order, `name` set to the node name.
    public var trace: [LayerTrace]

    public init(outputs: [Tensor], trace: [LayerTrace]) {
        self.outputs = outputs
        self.trace = trace
    }
}
