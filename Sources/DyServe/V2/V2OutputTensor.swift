/// One output of a V2 response: a model output or a trace tensor, FP32, row-major.
struct V2OutputTensor: Sendable, Equatable {
    var name: String
    var shape: [Int]
    var data: [Float]
    /// Sent after the JSON header as raw little-endian bytes instead of inline `data`.
    var binary: Bool
}
