import DyNN

/// The protocol-specific half of one inference request (`POST /infer`, `POST /v2/.../infer`):
/// which model it names, how its body binds to that model, and how a success is written back.
/// Everything between (lookup, job, submission, metrics, statistics, traces) is
/// `InferencePipeline`'s, the same for both protocols.
protocol InferenceCodec: Sendable {
    /// What `bind` decoded that `encode` needs again (requested outputs, top-k, ...).
    associatedtype Bound: Sendable

    var modelName: String { get }
    /// The version the request asks for; nil for whichever the model serves.
    var modelVersion: String? { get }

    /// Decodes and checks what depends on the model; a `RequestError` refuses the request.
    func bind(to model: ServedModelInfo) throws(RequestError) -> BoundInference<Bound>

    /// The answer to a successful inference: 200, or a 4xx when what the request asked of the
    /// outputs cannot be given (for example a trace output absent at the trace level run).
    func encode(_ success: InferenceSuccess, _ bound: Bound) -> HTTPResponse
}

/// A request bound to its model: what the job runs and what is recorded of it.
struct BoundInference<Bound: Sendable>: Sendable {
    /// One tensor per model input, in the model's input order.
    var inputs: [Tensor]
    var temperature: Float?
    /// The level the request's trace is stored at (`none`: not stored).
    var traceLevel: TraceLevel
    /// The input stored with a `full` trace, when the protocol keeps one.
    var traceInput: Tensor?
    /// The request's own time limit in nanoseconds from its arrival; nil for the scheduler's.
    var timeout: UInt64?
    var bound: Bound
}
