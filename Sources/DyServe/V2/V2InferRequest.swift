import DyNN

/// One entry of a V2 request's `inputs`, as the JSON header gives it: either its values inline
/// (`data`, kept as JSON numbers until the datatype is known) or the byte count of its binary
/// part (`parameters.binary_data_size`).
struct V2InputHeader: Sendable, Equatable {
    var name: String
    var shape: [Int]
    var datatype: V2Datatype
    var data: [Double]?
    var binaryDataSize: Int?
}

/// One entry of a V2 request's `outputs`: a name and whether it should come back binary
/// (nil: as the request's `binary_data_output` says).
struct V2RequestedOutput: Sendable, Equatable {
    var name: String
    var binary: Bool?
}

/// The JSON part of a `POST /v2/models/{m}/infer` body.
struct V2InferHeader: Sendable, Equatable {
    var id: String?
    var inputs: [V2InputHeader] = []
    /// nil: every output.
    var outputs: [V2RequestedOutput]?
    /// Request parameter `binary_data_output`: outputs not named otherwise come back binary.
    var binaryDataOutput = false
    /// Request parameter `trace`; nil means the default (attention recorded, no extra outputs).
    var trace: TraceLevel?
    /// Request parameter `temperature`.
    var temperature: Float?
    /// Request parameter `timeout`, in nanoseconds (given in microseconds).
    var timeout: UInt64?
}

/// A decoded V2 inference request: the header plus the model's single input as FP32.
struct V2InferRequest: Sendable {
    var header: V2InferHeader
    var input: Tensor
}
