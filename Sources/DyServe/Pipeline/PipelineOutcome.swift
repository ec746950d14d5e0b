import DyNN

/// How one inference request ended, as a value: what `InferencePipeline` records in the metrics
/// and hands to the protocol's encoder, the same for `/infer` and V2.
enum PipelineOutcome: Sendable {
    /// The model answered; the protocol encodes it.
    case success(InferenceSuccess)
    /// Answered without a result, for a reason counted in `dyserve_rejections_total`: queue full,
    /// deadline passed, shutting down, client gone.
    case rejected(SchedulingRejection)
    /// Refused or failed: a bad request the model found, or an engine failure (500).
    case failed(RequestError)
}

/// A successful inference, with what both protocols write back.
struct InferenceSuccess: Sendable {
    var id: String
    var model: ServedModelInfo
    /// Outputs in `model.outputs` order and the dynamic layers' trace.
    var outcome: InferenceOutcome
    /// Samples in the request (its batch dimension).
    var samples: Int
    /// The trace record built for the request (nil at trace level `none`), and whether the store
    /// kept it (a record over the store's per-record limit is not kept).
    var trace: TraceRecord?
    var traceStored: Bool
    var timing: RequestTiming
}
