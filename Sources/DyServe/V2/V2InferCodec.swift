import DyNN

/// `POST /v2/models/{m}[/versions/{v}]/infer`: the V2 side of the inference pipeline. Binding
/// inflates the body if it is compressed and decodes the JSON header and binary tensors against
/// the model; encoding selects and classifies the outputs asked for and answers in JSON or with
/// Triton's binary outputs (compressed when asked).
struct V2InferCodec: InferenceCodec {
    let request: HTTPRequest
    let modelName: String
    let modelVersion: String?
    let limits: APILimits

    /// What binding decoded that encoding needs again.
    struct Bound: Sendable {
        var decoded: V2InferRequest
        var outputs: [V2RequestedOutput]?
        var accept: ContentCoding?
    }

    func bind(to info: ServedModelInfo) throws(RequestError) -> BoundInference<Bound> {
        do {
            guard request.body.count <= limits.maxBodyBytes else {
                throw RequestError.payloadTooLarge("the body has \(request.body.count) bytes; the limit is \(limits.maxBodyBytes)")
            }
            var body = request.body
            if let coding = try ContentCoding.fromContentEncoding(request.headers["content-encoding"]) {
                body = try coding.decode(body, limit: limits.maxBodyBytes)
            }
            let decoded = try V2InferBodyDecoder(maxDepth: limits.maxJSONDepth, maxElements: limits.maxTensorElements)
                .decode(body: body, headerLength: request.headers[V2InferBodyDecoder.headerLengthField], model: info)
            try V2BodyModelCheck.check(decoded.header, pathModel: modelName, pathVersion: modelVersion, servedVersion: info.version)
            if decoded.header.trace != nil { try AuthGate.requireTraceOutputs(request) }  // trace outputs: introspection
            let outputs = try Self.checkOutputs(decoded.header.outputs, info: info, extraTrace: decoded.header.trace)
            // The same query parameter and header as /infer (milliseconds), and Triton's request
            // parameter (microseconds): the shortest wins.
            let timeout = RequestTimeout.shorter(
                try RequestTimeout.parse(query: request.query["timeout"], header: request.headers["x-request-timeout-ms"]),
                decoded.header.timeout)
            // Attention is recorded for every request by default, as on /infer.
            return BoundInference(inputs: decoded.inputs, temperature: decoded.header.temperature,
                                  traceLevel: decoded.header.trace ?? .attention, traceInput: nil, timeout: timeout,
                                  bound: Bound(decoded: decoded, outputs: outputs,
                                               accept: ContentCoding.fromAcceptEncoding(request.headers["accept-encoding"])))
        } catch let error as RequestError {
            throw error
        } catch {
            throw .internalError("unexpected error decoding a V2 request: \(error)")
        }
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

    func encode(_ success: InferenceSuccess, _ bound: Bound) -> HTTPResponse {
        let response = Self.encode(success, request: bound.decoded, outputs: bound.outputs)
        guard response.status == 200, let accept = bound.accept else { return response }
        return Self.compress(response, with: accept)
    }

    private static func encode(_ success: InferenceSuccess, request: V2InferRequest,
                               outputs requested: [V2RequestedOutput]?) -> HTTPResponse {
        let info = success.model
        let outcome = success.outcome
        let id = success.id
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
                    return RequestError.badRequest("output \"\(r.name)\" is not produced by model \(info.name) at trace level \"\(traceLevel.rawValue)\"").response(id: id)
                }
                t.binary = r.binary ?? defaultBinary
                if let count = r.classification {
                    do {
                        t = try V2Classification.classify(t, count: count, labels: info.labels)
                    } catch {
                        return error.response(id: id)
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

        let encoded = V2InferResponseEncoder.encode(model: info.name, version: info.version, id: request.header.id,
                                                    traceID: success.traceStored ? id : nil, outputs: selected)
        return HTTPResponse(status: 200, headers: encoded.headers + [
            ("X-Request-Id", id),
            ("Server-Timing", success.timing.serverTimingHeader),
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
