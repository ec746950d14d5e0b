/// Why bytes are not a `.npy` array we can read.
public enum NpyError: Error, Sendable, Equatable, CustomStringConvertible {
    case notNpy
    case unsupportedVersion(major: UInt8, minor: UInt8)
    case truncatedHeader(needed: Int, available: Int)
    case malformedHeader(String)
    case unsupportedDtype(String)
    case fortranOrder
    case badShape(String)
    case dataSize(expected: Int, actual: Int)

    public var description: String {
        switch self {
        case .notNpy: return "not a .npy file (missing the \\x93NUMPY magic)"
        case .unsupportedVersion(let major, let minor): return ".npy format version \(major).\(minor) is not supported (1.0, 2.0, 3.0)"
        case .truncatedHeader(let needed, let available): return ".npy header needs \(needed) bytes, only \(available) present"
        case .malformedHeader(let reason): return ".npy header is malformed: \(reason)"
        case .unsupportedDtype(let descr): return ".npy dtype '\(descr)' is not supported (little-endian float or integer)"
        case .fortranOrder: return ".npy array is in Fortran order; save it C-contiguous (np.ascontiguousarray)"
        case .badShape(let reason): return ".npy shape is invalid: \(reason)"
        case .dataSize(let expected, let actual): return ".npy data should be \(expected) bytes, got \(actual)"
        }
    }
}
