/// Why a forward pass refused its inputs (messages name the input and say expected vs got), or why the
/// engine failed to compute it (`engineFailure`: never the caller's fault).
public enum RunError: Error, Sendable, Equatable, CustomStringConvertible {
    case inputCount(expected: Int, actual: Int)
    case inputShape(input: String, expected: [Int], actual: [Int])
    /// Inputs of one request must share their batch size.
    case batchMismatch(input: String, batch: Int, expected: Int)
    case emptyBatch(input: String)
    /// NaN or infinity at `index` of the input's flat (row-major) data.
    case nonFinite(input: String, index: Int, value: Float)
    /// The fast backend failed during the pass (a oneDNN call, with its status and node).
    case engineFailure(FastEngineError)

    /// Whether the inputs are to blame (every case but `engineFailure`): a service answers 400 for
    /// these and 500 for an engine failure.
    public var isInputError: Bool {
        if case .engineFailure = self { return false }
        return true
    }

    public var description: String {
        switch self {
        case .inputCount(let expected, let actual):
            return "model takes \(expected) input\(expected == 1 ? "" : "s"), got \(actual)"
        case .inputShape(let input, let expected, let actual):
            return "input \"\(input)\": input shape \(formatShape(actual)) does not match \(formatShape(expected))"
        case .batchMismatch(let input, let batch, let expected):
            return "input \"\(input)\": batch size \(batch) differs from the first input's \(expected)"
        case .emptyBatch(let input):
            return "input \"\(input)\": batch size is 0"
        case .nonFinite(let input, let index, let value):
            return "input \"\(input)\": value \(value) at flat index \(index) is not finite"
        case .engineFailure(let error):
            return "the fast engine failed: \(error)"
        }
    }
}
