/// A value in the graph: one of the model's inputs or the output of an earlier node.
public enum ValueRef: Sendable, Hashable {
    /// Index into `ModelSpec.inputs`.
    case input(Int)
    /// Index into `Model.nodes`.
    case node(Int)
}

/// A node ready to run: its op holds folded weights and typed attributes.
public struct LoadedNode: Sendable {
    public let name: String
    public let op: any Operator
    public let inputs: [ValueRef]
    /// Shapes for one sample (batch dimension 1, or the model's fixed batch).
    public let inputShapes: [[Int]]
    public let outputShape: [Int]

    public init(name: String, op: any Operator, inputs: [ValueRef], inputShapes: [[Int]], outputShape: [Int]) {
        self.name = name
        self.op = op
        self.inputs = inputs
        self.inputShapes = inputShapes
        self.outputShape = outputShape
    }
}
