/// `POST /infer`: decode the body into an `InferCodec` and run it through the inference pipeline.
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

    /// Decodes the request and hands it to the inference pipeline, which answers through
    /// `respond` exactly once; throws for requests refused before a model is named.
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
        let codec = InferCodec(request: decoded, timeout: RequestTimeout.shorter(timeout, decoded.timeout),
                               defaultTopK: context.limits.defaultTopK)
        InferencePipeline(context: context).run(codec, id: id, started: started, connection: request.context, respond: respond)
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
}
