/// One output of a V2 response: a model output or a trace tensor (FP32, row-major), or the
/// classification extension's BYTES tensor of `"score:index[:label]"` strings.
struct V2OutputTensor: Sendable, Equatable {
    enum Values: Sendable, Equatable {
        case fp32([Float])
        /// Each element's bytes (UTF-8 text here).
        case bytes([[UInt8]])
    }

    var name: String
    var shape: [Int]
    var values: Values
    /// Sent after the JSON header as raw little-endian bytes instead of inline `data`.
    var binary: Bool

    init(name: String, shape: [Int], data: [Float], binary: Bool) {
        self.init(name: name, shape: shape, values: .fp32(data), binary: binary)
    }

    init(name: String, shape: [Int], values: Values, binary: Bool) {
        self.name = name
        self.shape = shape
        self.values = values
        self.binary = binary
    }

    var datatype: String {
        switch values {
        case .fp32: "FP32"
        case .bytes: "BYTES"
        }
    }

    /// Bytes of the binary form: 4 per float; per BYTES element a 4-byte little-endian length
    /// and the bytes (Triton's binary tensor extension).
    var binaryByteCount: Int {
        switch values {
        case .fp32(let floats): floats.count * MemoryLayout<Float>.size
        case .bytes(let elements): elements.reduce(0) { $0 + 4 + $1.count }
        }
    }
}
