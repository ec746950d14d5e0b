/// Why a safetensors file cannot be read. Every case names the tensor when there is one.
public enum SafeTensorsError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Fewer than the 8 bytes of the header length.
    case tooShort(fileSize: Int)
    /// The header length does not fit in the file (or is absurdly large).
    case headerLength(declared: UInt64, fileSize: Int)
    case headerJSON(String)
    /// A tensor entry is not `{"dtype", "shape", "data_offsets"}` with valid values.
    case malformedEntry(tensor: String, reason: String)
    case unsupportedDtype(tensor: String, dtype: String)
    /// `shape` times the dtype size overflows or disagrees with `data_offsets`.
    case byteCount(tensor: String, expected: String, actual: Int)
    case offsetsOutOfRange(tensor: String, begin: Int, end: Int, dataSize: Int)
    case overlapping(tensor: String, other: String)

    public var description: String {
        switch self {
        case .tooShort(let size):
            return "safetensors file is \(size) bytes, shorter than its 8-byte header length"
        case .headerLength(let declared, let size):
            return "safetensors header length \(declared) does not fit in a file of \(size) bytes"
        case .headerJSON(let reason):
            return "safetensors header is not valid JSON: \(reason)"
        case .malformedEntry(let tensor, let reason):
            return "safetensors tensor \"\(tensor)\": \(reason)"
        case .unsupportedDtype(let tensor, let dtype):
            return "safetensors tensor \"\(tensor)\" has dtype \(dtype); supported: F32, F16, BF16"
        case .byteCount(let tensor, let expected, let actual):
            return "safetensors tensor \"\(tensor)\": shape needs \(expected) bytes, data_offsets span \(actual)"
        case .offsetsOutOfRange(let tensor, let begin, let end, let dataSize):
            return "safetensors tensor \"\(tensor)\": data_offsets [\(begin), \(end)] outside the \(dataSize)-byte data section"
        case .overlapping(let tensor, let other):
            return "safetensors tensors \"\(other)\" and \"\(tensor)\" overlap"
        }
    }
}
