/// What both inference routes (`/infer` and `/v2/.../infer`) do first with a finished job: record its
/// queue and compute time (and attention drift), then either go on with the outcome or answer with the response its failure
/// becomes, the same on both APIs.
enum FinishedInference {
    case outcome(InferenceOutcome)
    case failed(HTTPResponse)

    init(_ completion: InferenceCompletion, model info: ServedModelInfo, id: String, context: ServiceContext) {
        let metrics = context.metrics.model(info.name)
        metrics.queueDuration.recordNanoseconds(Int64(clamping: completion.queueNanoseconds))
        metrics.computeDuration.recordNanoseconds(Int64(clamping: completion.computeNanoseconds))
        switch completion.result {
        case .success(let outcome):
            guard outcome.outputs.count == info.outputs.count else {
                self = .failed(APIHandler.errorResponse(.internalError(
                    "model \(info.name) returned \(outcome.outputs.count) outputs; its spec declares \(info.outputs.count)"), id: id))
                return
            }
            context.metrics.attentionDrift?.record(model: info.name, trace: outcome.trace)
            self = .outcome(outcome)
        case .failure(let error as RequestError):
            self = .failed(APIHandler.errorResponse(error, id: id))
        case .failure(let rejection as SchedulingRejection):
            // Queue full (503 or 429), deadline passed (503 / 504), shutting down.
            var response = rejection.response()
            response.headers.append(("X-Request-Id", id))
            self = .failed(response)
        case .failure(let error as InferenceCancelled):
            // Nobody reads this response; 499 (as nginx logs it) keeps such requests apart in metrics.
            var response = APIHandler.errorResponse(.unavailable(error.description), id: id)
            response.status = 499
            self = .failed(response)
        case .failure(let error):
            context.logger.error("inference failed", metadata: ["id": "\(id)", "model": "\(info.name)", "error": "\(error)"])
            self = .failed(APIHandler.errorResponse(.internalError("inference failed: \(error)"), id: id))
        }
    }
}
