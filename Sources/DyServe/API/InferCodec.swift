import DyNN

/// The `POST /infer` side of the inference pipeline: binds a decoded request's tensors to the
/// model's inputs, and writes a success as outputs, top-k, timing and (when asked) the trace.
struct InferCodec: InferenceCodec {
    let request: InferRequest
    /// The shortest of the request's limits (query, header, body), nanoseconds from arrival.
    let timeout: UInt64?
    let defaultTopK: Int

    var modelName: String { request.model }
    var modelVersion: String? { nil }

    func bind(to model: ServedModelInfo) throws(RequestError) -> BoundInference<Void> {
        let inputs = try InferInputBinding.bind(request, to: model)
        // Returning the trace implies recording at least attention.
        let level = request.returnTrace && request.trace == .none ? TraceLevel.attention : request.trace
        return BoundInference(inputs: inputs, temperature: request.temperature, traceLevel: level,
                              traceInput: request.input, timeout: timeout, bound: ())
    }

    func encode(_ success: InferenceSuccess, _ bound: Void) -> HTTPResponse {
        let info = success.model
        let topK = success.outcome.outputs.first.flatMap {
            TopK.compute($0, k: request.topK ?? defaultTopK, labels: info.labels)
        }
        let body = InferResponseEncoder.encode(id: success.id, model: request.model, specs: info.outputs,
                                               outputs: success.outcome.outputs, topK: topK, timing: success.timing,
                                               trace: request.returnTrace ? success.trace : nil)
        return HTTPResponse(status: 200, headers: [
            ("Content-Type", "application/json"),
            ("X-Request-Id", success.id),
            ("Server-Timing", success.timing.serverTimingHeader),
        ], body: body)
    }
}
