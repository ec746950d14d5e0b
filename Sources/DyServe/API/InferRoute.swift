import DyNN
import Dispatch
import Foundation

/// `POST /infer`: decode the body, check it against the model, run it on the executor, record
/// its trace and answer with outputs, top-k and timing.
struct InferRoute: Sendable {
    let context: ServiceContext

    /// Body formats, from `Content-Type` (parameters such as `charset` ignored). No content type
    /// means JSON, which is what most clients (Triton's among them) send without saying.
    enum BodyFormat { case json, npy, rawFP32 }

    static func bodyFormat(_ contentType: String?) throws(RequestError) -> BodyFormat {
        guard let contentType else { return .json }
        let media = contentType.split(separator: ";", maxSplits: 1).first.map { $0.strippingBlanks().lowercased() } ?? ""
        switch media {
        case "", "application/json": return .json
        // `curl -d` labels every body this way; nobody sends real form data to /infer, so
        // reading it as JSON spares users a -H flag (a non-JSON body still gets a clear 400).
        case "application/x-www-form-urlencoded": return .json
        case "application/x-npy", "application/npy": return .npy
        case "application/octet-stream": return .rawFP32
        default:
            throw .unsupportedMediaType("unsupported Content-Type \"\(contentType)\"; use application/json, application/x-npy, or application/octet-stream with X-Tensor-Shape")
        }
    }

    /// Answers through `respond` exactly once. `started` is the request's arrival (uptime ns).
    func handle(_ request: HTTPRequest, id: String, started: UInt64,
                respond: @escaping @Sendable (HTTPResponse) -> Void) throws(RequestError) {
        guard request.body.count <= context.limits.maxBodyBytes else {
            throw .payloadTooLarge("the body has \(request.body.count) bytes; the limit is \(context.limits.maxBodyBytes)")
        }
        let format = try Self.bodyFormat(request.headers["content-type"])
        // `timeout` is about delivery, not the model, so it is allowed with any body.
        let timeout = try RequestTimeout.parse(query: request.query["timeout"],
                                               header: request.headers["x-request-timeout-ms"])
        var request = request
        request.query["timeout"] = nil
        if format == .json, !request.query.isEmpty {
            throw .badRequest("a JSON body carries its options in the body; the query string is for binary bodies")
        }
        let decoded = try decode(request, format: format)
        if decoded.returnTrace { try AuthGate.requireTraceOutputs(request) }  // the trace: introspection
        let limit = RequestTimeout.shorter(timeout, decoded.timeout)
        let model: any ServableModel
        do {
            model = try context.registry.model(named: decoded.model)
        } catch {
            if case .unavailable = error, context.registry.names.contains(decoded.model),
               context.registry.readiness().reasons.contains("shutting down") {
                context.metrics.model(decoded.model).rejections(.shutdown).increment()
            }
            throw error
        }
        let modelMetrics = context.metrics.model(decoded.model)
        let inputs: [Tensor]
        do {
            inputs = try InferInputBinding.bind(decoded, to: model.info)
        } catch {
            modelMetrics.requests(code: error.status).increment()
            throw error
        }
        // Returning the trace implies recording at least attention.
        let level = decoded.returnTrace && decoded.trace == .none ? TraceLevel.attention : decoded.trace
        let job = InferenceJob(modelName: decoded.model, model: model, inputs: inputs,
                               options: RunOptions(temperature: decoded.temperature, trace: context.engineTraceLevel(level)),
                               isCancelled: { [requestContext = request.context] in requestContext.isCancelled },
                               onCancel: { [requestContext = request.context] handler in requestContext.onCancel(handler) },
                               timeout: limit.map { RequestTimeout.remaining($0, since: started) })
        let context = self.context
        let batch = inputs[0].shape.first ?? 0
        try context.submit(job, metrics: modelMetrics, finish: { completion in
            Self.finish(completion, request: decoded, batch: batch, level: level, model: model, id: id, started: started, context: context)
        }, respond: respond)
    }

    private func decode(_ request: HTTPRequest, format: BodyFormat) throws(RequestError) -> InferRequest {
        let limits = context.limits
        switch format {
        case .json:
            return try JSONInferRequestDecoder(maxDepth: limits.maxJSONDepth, maxElements: limits.maxTensorElements)
                .decode(request.body)
        case .npy, .rawFP32:
            let decoder = BinaryInferRequestDecoder(maxElements: limits.maxTensorElements, readNpy: context.readNpy)
            return try decoder.decode(request, format: format == .npy ? .npy : .rawFP32)
        }
    }

    static func format(_ shape: [Int]) -> String {
        "[" + shape.map(String.init).joined(separator: ",") + "]"
    }

    /// Builds the response for a finished job, storing its trace on the way.
    private static func finish(_ completion: InferenceCompletion, request: InferRequest, batch: Int, level: TraceLevel,
                               model: any ServableModel, id: String, started: UInt64,
                               context: ServiceContext) -> HTTPResponse {
        let info = model.info
        let outcome: InferenceOutcome
        switch FinishedInference(completion, model: info, id: id, context: context) {
        case .outcome(let finished): outcome = finished
        case .failed(let response): return response
        }
        let metrics = context.metrics.model(info.name)
        metrics.inferences.increment(by: batch)

        let topK = outcome.outputs.first.flatMap {
            TopK.compute($0, k: request.topK ?? context.limits.defaultTopK, labels: info.labels)
        }
        var record: TraceRecord?
        if level != .none {
            let top = topK?.first?.first.map { TopClass(index: $0.index, label: $0.label, score: $0.score) }
            let r = TraceRecord(id: id, model: request.model, time: Date().timeIntervalSince1970,
                                temperature: request.temperature, modelTemperature: info.temperature,
                                level: level, batch: batch, topClass: top, layers: outcome.trace,
                                input: level == .full ? request.input : nil)
            context.traces.insert(r)
            record = r
        }
        let totalNs = DispatchTime.now().uptimeNanoseconds &- started
        let timing = RequestTiming(queue: Int(completion.queueNanoseconds / 1000),
                                   compute: Int(completion.computeNanoseconds / 1000),
                                   total: Int(totalNs / 1000))
        metrics.requestDuration.recordNanoseconds(Int64(clamping: totalNs))
        let body = InferResponseEncoder.encode(id: id, model: request.model, specs: info.outputs,
                                               outputs: outcome.outputs, topK: topK, timing: timing,
                                               trace: request.returnTrace ? record : nil)
        return HTTPResponse(status: 200, headers: [
            ("Content-Type", "application/json"),
            ("X-Request-Id", id),
            ("Server-Timing", timing.serverTimingHeader),
        ], body: body)
    }
}
