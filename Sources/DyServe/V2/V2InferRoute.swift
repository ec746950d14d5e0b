import DyNN
import Dispatch
import Foundation

/// `POST /v2/models/{m}[/versions/{v}]/infer`: inflate the body if it is compressed, decode the
/// JSON header and binary tensors, run the model on the shared executor, record the trace in the
/// shared store and answer in JSON or with Triton's binary outputs (compressed when asked).
struct V2InferRoute: Sendable {
    let context: ServiceContext

    /// Answers through `respond` exactly once; throws for requests refused before inference.
    func handle(_ request: HTTPRequest, modelName: String, version: String?, id: String, started: UInt64,
                respond: @escaping @Sendable (HTTPResponse) -> Void) throws(RequestError) {
        let limits = context.limits
        let model = try V2ModelLookup.model(modelName, version: version, in: context.registry)
        let info = model.info
        let modelMetrics = context.metrics.model(modelName)
        let decoded: V2InferRequest
        let level: TraceLevel
        let outputs: [V2RequestedOutput]?
        let timeout: UInt64?
        do {
            guard request.body.count <= limits.maxBodyBytes else {
                throw RequestError.payloadTooLarge("the body has \(request.body.count) bytes; the limit is \(limits.maxBodyBytes)")
            }
            var body = request.body
            if let coding = try ContentCoding.fromContentEncoding(request.headers["content-encoding"]) {
                body = try coding.decode(body, limit: limits.maxBodyBytes)
            }
            decoded = try V2InferBodyDecoder(maxDepth: limits.maxJSONDepth, maxElements: limits.maxTensorElements)
                .decode(body: body, headerLength: request.headers[V2InferBodyDecoder.headerLengthField], model: info)
            try V2BodyModelCheck.check(decoded.header, pathModel: modelName, pathVersion: version, servedVersion: info.version)
            if decoded.header.trace != nil { try AuthGate.requireTraceOutputs(request) }  // trace outputs: introspection
            // Attention is recorded for every request by default, as on /infer.
            level = decoded.header.trace ?? .attention
            outputs = try Self.checkOutputs(decoded.header.outputs, info: info, extraTrace: decoded.header.trace)
            // The same query parameter and header as /infer (milliseconds), and Triton's request
            // parameter (microseconds): the shortest wins.
            timeout = RequestTimeout.shorter(
                try RequestTimeout.parse(query: request.query["timeout"], header: request.headers["x-request-timeout-ms"]),
                decoded.header.timeout)
        } catch let error as RequestError {
            modelMetrics.requests(code: error.status).increment()
            context.statistics.recordFailure(model: modelName, totalNs: DispatchTime.now().uptimeNanoseconds &- started)
            throw error
        } catch {
            throw .internalError("unexpected error decoding a V2 request: \(error)")
        }

        let job = InferenceJob(modelName: modelName, model: model, inputs: decoded.inputs,
                               options: RunOptions(temperature: decoded.header.temperature, trace: context.engineTraceLevel(level)),
                               isCancelled: { [requestContext = request.context] in requestContext.isCancelled },
                               onCancel: { [requestContext = request.context] handler in requestContext.onCancel(handler) },
                               timeout: timeout.map { RequestTimeout.remaining($0, since: started) })
        let context = self.context
        let accept = ContentCoding.fromAcceptEncoding(request.headers["accept-encoding"])
        try context.submit(job, metrics: modelMetrics, finish: { completion in
            let response = Self.finish(completion, request: decoded, outputs: outputs, level: level, info: info,
                                       id: id, started: started, context: context)
            guard response.status == 200, let accept else { return response }
            return Self.compress(response, with: accept)
        }, respond: respond)
    }

    /// Every requested output must be a model output, or a trace output when a trace is asked for;
    /// only model outputs can be classified. An empty list means every output, as in Triton.
    static func checkOutputs(_ requested: [V2RequestedOutput]?, info: ServedModelInfo,
                             extraTrace: TraceLevel?) throws(RequestError) -> [V2RequestedOutput]? {
        guard let requested, !requested.isEmpty else { return nil }
        var seen: Set<String> = []
        for output in requested {
            guard seen.insert(output.name).inserted else {
                throw .badRequest("output \"\(output.name)\" is requested twice")
            }
            if info.outputs.contains(where: { $0.name == output.name }) { continue }
            if output.classification != nil, V2TraceOutputs.isTraceName(output.name) {
                throw .badRequest("output \"\(output.name)\" is a trace output; classification is for the model's outputs")
            }
            if V2TraceOutputs.isTraceName(output.name), let t = extraTrace, t != .none { continue }
            let hint = V2TraceOutputs.isTraceName(output.name)
                ? " (trace outputs need request parameter \"trace\": \"attention\" or \"full\")" : ""
            throw .badRequest("model \(info.name) has no output \"\(output.name)\"; its outputs are "
                + info.outputs.map { "\"\($0.name)\"" }.joined(separator: ", ") + hint)
        }
        return requested
    }

    private static func finish(_ completion: InferenceCompletion, request: V2InferRequest, outputs requested: [V2RequestedOutput]?,
                               level: TraceLevel, info: ServedModelInfo, id: String, started: UInt64,
                               context: ServiceContext) -> HTTPResponse {
        let outcome: InferenceOutcome
        switch FinishedInference(completion, model: info, id: id, context: context) {
        case .outcome(let finished): outcome = finished
        case .failed(let response): return response
        }
        let metrics = context.metrics.model(info.name)
        let batch = request.input.shape.first ?? 0
        metrics.inferences.increment(by: batch)

        var traceID: String?
        if level != .none {
            let top = outcome.outputs.first.flatMap { TopK.compute($0, k: 1, labels: info.labels) }?.first?.first
            let record = TraceRecord(id: id, model: info.name, time: Date().timeIntervalSince1970,
                                     temperature: request.header.temperature, modelTemperature: info.temperature,
                                     level: level, batch: batch,
                                     topClass: top.map { TopClass(index: $0.index, label: $0.label, score: $0.score) },
                                     layers: outcome.trace)
            if context.traces.insert(record) { traceID = id }
        }

        let defaultBinary = request.header.binaryDataOutput
        let modelOutputs: [V2OutputTensor] = zip(info.outputs, outcome.outputs).map { spec, tensor in
            V2OutputTensor(name: spec.name, shape: tensor.shape, data: tensor.data, binary: defaultBinary)
        }
        // Trace outputs only when the request asked for a trace, not for the default recording.
        let traceLevel = request.header.trace ?? .none
        let traceOutputs = V2TraceOutputs.make(from: outcome.trace, level: traceLevel, binary: defaultBinary)
        var selected: [V2OutputTensor]
        if let requested {
            selected = []
            for r in requested {
                // A trace output asked for but absent (e.g. dyrelu_a/ under "attention") is a 400
                // the client can act on, not a silent omission.
                guard var t = modelOutputs.first(where: { $0.name == r.name }) ?? traceOutputs.first(where: { $0.name == r.name }) else {
                    return APIHandler.errorResponse(.badRequest("output \"\(r.name)\" is not produced by model \(info.name) at trace level \"\(traceLevel.rawValue)\""), id: id)
                }
                t.binary = r.binary ?? defaultBinary
                if let count = r.classification {
                    do {
                        t = try V2Classification.classify(t, count: count, labels: info.labels)
                    } catch {
                        return APIHandler.errorResponse(error, id: id)
                    }
                }
                selected.append(t)
            }
            // The trace the request asked for is always returned, even when the filter names
            // only model outputs.
            for t in traceOutputs where !requested.contains(where: { $0.name == t.name }) {
                selected.append(t)
            }
        } else {
            selected = modelOutputs + traceOutputs
        }

        let totalNs = DispatchTime.now().uptimeNanoseconds &- started
        metrics.requestDuration.recordNanoseconds(Int64(clamping: totalNs))
        let encoded = V2InferResponseEncoder.encode(model: info.name, version: info.version, id: request.header.id,
                                                    traceID: traceID, outputs: selected)
        let timing = RequestTiming(queue: Int(completion.queueNanoseconds / 1000),
                                   compute: Int(completion.computeNanoseconds / 1000), total: Int(totalNs / 1000))
        return HTTPResponse(status: 200, headers: encoded.headers + [
            ("X-Request-Id", id),
            ("Server-Timing", timing.serverTimingHeader),
        ], body: encoded.body)
    }

    /// The response body compressed with `coding`, or the response unchanged if compression failed
    /// (a client that accepts gzip also accepts identity).
    static func compress(_ response: HTTPResponse, with coding: ContentCoding) -> HTTPResponse {
        guard let body = try? coding.encode(response.body) else { return response }
        var compressed = response
        compressed.body = body
        compressed.headers.append(("Content-Encoding", coding.rawValue))
        compressed.headers.append(("Vary", "Accept-Encoding"))
        return compressed
    }
}
