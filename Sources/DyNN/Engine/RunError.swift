/// Why a forward pass refused its inputs. Messages name the input and say expected vs got.
public enum RunError: Error, Sendable, Equatable, CustomStringConvertible {
    case inputCount(expected: Int, actual: Int)
    case inputShape(input: String, expected: [Int], actual: [Int])
    /// Inputs of one request must share their batch size.
    case batchMismatch(input: String, batch: Int, expected: Int)
    case emptyBatch(input: String)
    /// NaN or infinity at `index` of the input's flat (row-major) data.
    case nonFinite(input: String, index: Int, value: Float)

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
        }
    }
}
