/// A node an optimised backend runs with its reference op, because it has no fast path for that op (or
/// for that op at those shapes). Decided when the engine is built, so a served model's fallbacks are
/// known before its first request and never change: a service logs them and exports their count.
public struct ReferenceFallback: Sendable, Equatable, CustomStringConvertible {
    /// The node name from `model.json`.
    public var node: String
    /// The op name (`flatten`, `softmax`, ...).
    public var op: String
    public var inputShapes: [[Int]]

    public var description: String {
        "node \"\(node)\" (\(op), input shapes \(inputShapes.map { formatShape($0) }.joined(separator: ", "))) runs its reference op"
    }
}
