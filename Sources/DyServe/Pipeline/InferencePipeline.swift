import Dispatch
import DyNN
import Foundation

/// The one path of an inference request, shared by `POST /infer` and `POST /v2/.../infer`, from a
/// decoded request to an encoded response:
///
///     lookup model -> codec.bind -> InferenceJob -> executor.submit ... completion
///       -> settle (PipelineOutcome) -> record (metrics, statistics, trace) -> encode -> respond
///
/// Every per-model inference metric (`dyserve_requests_total`, `_in_flight_requests`,
/// `_rejections_total`, the duration histograms, `_inferences_total`, attention drift), every V2
/// statistic and the trace store are written here and nowhere else; protocols only decode (their
/// `InferenceCodec`) and encode. The scheduler keeps only its own gauges (queue depth, batch size).
struct InferencePipeline: Sendable {
    let context: ServiceContext

    /// Answers through `respond` exactly once. `started` is the request's arrival (uptime ns);
    /// `connection` says when nobody waits for the answer any more.
    func run<Codec: InferenceCodec>(_ codec: Codec, id: String, started: UInt64, connection: RequestContext,
                                    respond: @escaping @Sendable (HTTPResponse) -> Void) {
        let name = codec.modelName
        let model: any ServableModel
        switch context.registry.lookup(name, version: codec.modelVersion) {
        case .success(let found):
            model = found
        case .failure(.shuttingDown) where context.registry.names.contains(name):
            // A configured model's requests during shutdown count like the scheduler's refusals.
            let rejection = SchedulingRejection(reason: .shutdown, status: 503,
                                                message: ModelRegistry.LookupFailure.shuttingDown.requestError(model: name).message)
            return respond(refuse(rejection.response(id: id), counting: .shutdown, model: name, started: started))
        case .failure(let failure):
            // Unknown names get no per-model series: clients must not create them.
            return respond(failure.requestError(model: name).response(id: id))
        }
        let metrics = context.metrics.model(name)
        let bound: BoundInference<Codec.Bound>
        do {
            bound = try codec.bind(to: model.info)
        } catch {
            return respond(refuse(error.response(id: id), model: name, started: started))
        }
        let job = InferenceJob(modelName: name, model: model, inputs: bound.inputs,
                               options: RunOptions(temperature: bound.temperature,
                                                   trace: context.engineTraceLevel(bound.traceLevel)),
                               isCancelled: { connection.isCancelled },
                               onCancel: { handler in connection.onCancel(handler) },
                               timeout: bound.timeout.map { RequestTimeout.remaining($0, since: started) })
        let submitted = DispatchTime.now().uptimeNanoseconds
        metrics.inFlight.increment()
        context.executor.submit(job) { [self] completion in
            let outcome = settle(completion, job: job, bound: bound, id: id, started: started)
            record(outcome, completion, job: job, metrics: metrics, submitted: submitted)
            let response: HTTPResponse = switch outcome {
            case .success(let success): codec.encode(success, bound.bound)
            case .rejected(let rejection): rejection.response(id: id)
            case .failed(let error): error.response(id: id)
            }
            metrics.inFlight.decrement()
            metrics.requests(code: response.status).increment()
            respond(response)
        }
    }

    /// What a finished job means for its request. Stores the trace of a success.
    func settle<Bound>(_ completion: InferenceCompletion, job: InferenceJob, bound: BoundInference<Bound>,
                       id: String, started: UInt64) -> PipelineOutcome {
        let info = job.model.info
        switch completion.result {
        case .success(let outcome) where outcome.outputs.count == info.outputs.count:
            let samples = job.input.shape.first ?? 0
            let record = bound.traceLevel == .none ? nil : TraceRecord(
                id: id, model: info.name, time: Date().timeIntervalSince1970,
                temperature: bound.temperature, modelTemperature: info.temperature,
                level: bound.traceLevel, batch: samples,
                topClass: outcome.outputs.first.flatMap { TopK.compute($0, k: 1, labels: info.labels) }?.first?.first
                    .map { TopClass(index: $0.index, label: $0.label, score: $0.score) },
                layers: outcome.trace, input: bound.traceLevel == .full ? bound.traceInput : nil)
            let stored = record.map { context.traces.insert($0) } ?? false
            let timing = RequestTiming(queue: Int(completion.queueNanoseconds / 1000),
                                       compute: Int(completion.computeNanoseconds / 1000),
                                       total: Int(Self.elapsed(since: started) / 1000))
            return .success(InferenceSuccess(id: id, model: info, outcome: outcome, samples: samples,
                                             trace: record, traceStored: stored, timing: timing))
        case .success(let outcome):
            return .failed(.internalError(
                "model \(info.name) returned \(outcome.outputs.count) outputs; its spec declares \(info.outputs.count)"))
        case .failure(let rejection as SchedulingRejection):
            return .rejected(rejection)
        case .failure(let error as RequestError):
            return .failed(error)
        case .failure(let error):
            context.logger.error("inference failed", metadata: ["id": "\(id)", "model": "\(info.name)", "error": "\(error)"])
            return .failed(.internalError("inference failed: \(error)"))
        }
    }

    /// The metrics and V2 statistics of a job the executor answered.
    private func record(_ outcome: PipelineOutcome, _ completion: InferenceCompletion, job: InferenceJob,
                        metrics: ServiceMetrics.ModelMetrics, submitted: UInt64) {
        let name = job.modelName
        let samples = job.input.shape.first ?? 0
        let total = Self.elapsed(since: submitted)
        metrics.queueDuration.recordNanoseconds(Int64(clamping: completion.queueNanoseconds))
        metrics.computeDuration.recordNanoseconds(Int64(clamping: completion.computeNanoseconds))
        var execution = completion.execution
        switch outcome {
        case .success(let success):
            metrics.inferences.increment(by: samples)
            metrics.requestDuration.recordNanoseconds(Int64(success.timing.total) * 1000)
            context.metrics.attentionDrift?.record(model: name, trace: success.outcome.trace)
            context.statistics.recordSuccess(model: name, samples: samples, queueNs: completion.queueNanoseconds,
                                             compute: .init(completion), totalNs: total)
            // An executor that does not report executions ran the job on its own.
            if execution == nil { execution = ExecutionShare(batchSize: samples, countsExecution: true) }
        case .rejected(let rejection):
            metrics.rejections(rejection.reason).increment()
            context.statistics.recordFailure(model: name, totalNs: total)
        case .failed:
            context.statistics.recordFailure(model: name, totalNs: total)
        }
        // Also for a request answered 504 after its execution: the model did execute.
        if let execution, execution.countsExecution {
            context.statistics.recordExecution(model: name, batchSize: execution.batchSize, compute: .init(completion))
        }
    }

    /// The answer to a request of a configured model refused before it reached the executor
    /// (shutting down, or a body that does not fit the model), recorded like one refused after.
    private func refuse(_ response: HTTPResponse, counting reason: RejectionReason? = nil, model name: String,
                        started: UInt64) -> HTTPResponse {
        let metrics = context.metrics.model(name)
        if let reason { metrics.rejections(reason).increment() }
        context.statistics.recordFailure(model: name, totalNs: Self.elapsed(since: started))
        metrics.requests(code: response.status).increment()
        return response
    }

    private static func elapsed(since start: UInt64) -> UInt64 {
        DispatchTime.now().uptimeNanoseconds &- start
    }
}
