import DyNN

/// One entry of a V2 request's `inputs`, as the JSON header gives it: either its values inline
/// (`data`, kept as JSON numbers until the datatype is known) or the byte count of its binary
/// part (`parameters.binary_data_size`).
struct V2InputHeader: Sendable, Equatable {
    var name: String
    var shape: [Int]
    var datatype: V2Datatype
    var data: [Double]?
    /// The lengths of `data`'s nested arrays per level (`[n]` for flat data).
    var dataDims: [Int]? = nil
    var binaryDataSize: Int?
}

/// One entry of a V2 request's `outputs`: a name and whether it should come back binary
/// (nil: as the request's `binary_data_output` says).
struct V2RequestedOutput: Sendable, Equatable {
    var name: String
    var binary: Bool?
    /// Parameter `classification`: answer with the top N classes instead of the scores.
    var classification: Int? = nil
}

/// The JSON part of a `POST /v2/models/{m}/infer` body.
struct V2InferHeader: Sendable, Equatable {
    var id: String?
    /// `model_name` and `model_version` as the body gives them (clients such as kserve's send
    /// them); `V2BodyModelCheck` holds them against the path.
    var modelName: String?
    var modelVersion: String?
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

/// A decoded V2 inference request: the header plus the model's inputs as FP32, in the model's
/// input order.
struct V2InferRequest: Sendable {
    var header: V2InferHeader
    var inputs: [Tensor]
    /// The first input, whose batch dimension is the request's.
    var input: Tensor { inputs[0] }
}
