/// What `GET /v2/models/{m}/config` says about a served model, in the terms of Triton's model
/// configuration, worked out from the model and the scheduler that runs it:
/// - `maxBatchSize`: the scheduler's `max_batch_size` when every input has a variable batch
///   dimension (then `dims` leave it out, as Triton's do), else 0 and `dims` are the full shapes;
/// - `dynamicBatching`: present when the scheduler merges requests (`max_batch_size` > 1); the
///   scheduler fills batches up to `max_batch_size`, so that is the one preferred size;
/// - `instanceCount`: executions of the model that run at once (cores / its intra-op threads,
///   the scheduler's worker count).
struct V2ModelConfig: Sendable {
    struct Tensor: Sendable, Equatable {
        var name: String
        /// Triton's `data_type`: `TYPE_` and the V2 datatype (`TYPE_STRING` for BYTES).
        var dataType: String
        var dims: [Int]
    }

    struct DynamicBatching: Sendable, Equatable {
        var preferredBatchSizes: [Int]
        var maxQueueDelayMicroseconds: Int
    }

    var name: String
    var version: String
    var maxBatchSize: Int
    var inputs: [Tensor]
    var outputs: [Tensor]
    var dynamicBatching: DynamicBatching?
    var instanceCount: Int
    /// The model's own settings, as Triton's `parameters` map of `string_value`s.
    var parameters: [(key: String, value: String)]

    init(model: any ServableModel, scheduling: SchedulerSettings, cores: Int) {
        let info = model.info
        name = info.name
        version = info.version
        let batched = !info.inputs.isEmpty && info.inputs.allSatisfy { $0.shape.first == -1 }
        maxBatchSize = batched ? scheduling.maxBatchSize : 0
        func tensor(_ spec: ServedTensorSpec) -> Tensor {
            Tensor(name: spec.name, dataType: spec.datatype == "BYTES" ? "TYPE_STRING" : "TYPE_" + spec.datatype,
                   dims: batched && spec.shape.first == -1 ? Array(spec.shape.dropFirst()) : spec.shape)
        }
        inputs = info.inputs.map(tensor)
        outputs = info.outputs.map(tensor)
        dynamicBatching = batched && scheduling.batchingEnabled
            ? DynamicBatching(preferredBatchSizes: [scheduling.maxBatchSize],
                              maxQueueDelayMicroseconds: scheduling.maxQueueDelayMicroseconds)
            : nil
        let cores = max(1, cores)
        instanceCount = max(1, cores / min(max(1, model.intraOpThreads), cores))
        var parameters: [(key: String, value: String)] = [("temperature", String(info.temperature))]
        if !info.routing.isEmpty { parameters.append(("routing", info.routing.joined(separator: ","))) }
        self.parameters = parameters
    }
}
