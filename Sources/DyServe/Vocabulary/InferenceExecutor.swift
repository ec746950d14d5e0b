import DyNN

/// One unit of work for the executor: a model, its input batch and how to run it.
public struct InferenceJob: Sendable {
    public var modelName: String
    public var model: any ServableModel
    /// One tensor per model input, in the model's input order, all with the same batch size.
    public var inputs: [Tensor]
    /// The first input: its batch dimension is the job's sample count.
    public var input: Tensor { inputs[0] }
    public var options: RunOptions
    /// True once nobody waits for the answer (client gone, server stopping): the executor then
    /// skips the computation and completes with `SchedulingRejection.clientGone`.
    public var isCancelled: @Sendable () -> Bool
    /// Registers a handler to run once nobody waits any more (e.g. `RequestContext.onCancel`),
    /// so a scheduler can drop a queued job at once instead of when it reaches the head.
    public var onCancel: (@Sendable (@escaping @Sendable () -> Void) -> Void)?
    /// Nanoseconds from submission after which the answer is no longer wanted (the request's own
    /// limit less the time already spent on it); nil means the executor's default timeout alone.
    public var timeout: UInt64?

    public init(modelName: String, model: any ServableModel, inputs: [Tensor], options: RunOptions,
                isCancelled: @escaping @Sendable () -> Bool = { false },
                onCancel: (@Sendable (@escaping @Sendable () -> Void) -> Void)? = nil,
                timeout: UInt64? = nil) {
        precondition(!inputs.isEmpty, "a job has at least one input")
        self.modelName = modelName
        self.model = model
        self.inputs = inputs
        self.options = options
        self.isCancelled = isCancelled
        self.onCancel = onCancel
        self.timeout = timeout
    }

    /// A job for a model with one input.
    public init(modelName: String, model: any ServableModel, input: Tensor, options: RunOptions,
                isCancelled: @escaping @Sendable () -> Bool = { false },
                onCancel: (@Sendable (@escaping @Sendable () -> Void) -> Void)? = nil,
                timeout: UInt64? = nil) {
        self.init(modelName: modelName, model: model, inputs: [input], options: options,
                  isCancelled: isCancelled, onCancel: onCancel, timeout: timeout)
    }
}

/// The model execution a job took part in. A batching executor runs several jobs as one
/// execution; statistics count executions (Triton's `execution_count`, `batch_stats`) from the
/// one job of each execution that carries `countsExecution`.
public struct ExecutionShare: Sendable, Equatable {
    /// Samples in the whole execution: the job's own and its batch-mates'.
    public var batchSize: Int
    /// True for exactly one job of each execution.
    public var countsExecution: Bool

    public init(batchSize: Int, countsExecution: Bool) {
        self.batchSize = batchSize
        self.countsExecution = countsExecution
    }
}

/// How a job went, with the time it waited and the time it computed.
public struct InferenceCompletion: Sendable {
    public var result: Result<InferenceOutcome, any Error>
    /// From submission to the start of the execution it ran in.
    public var queueNanoseconds: UInt64
    /// The whole execution's compute time (shared by every job of a batch), including the two below.
    public var computeNanoseconds: UInt64
    /// Of that, merging the batch's inputs into one tensor, and splitting its outputs per request
    /// (Triton's `compute_input` and `compute_output`); 0 for a job that ran alone.
    public var inputNanoseconds: UInt64 = 0
    public var outputNanoseconds: UInt64 = 0
    /// The execution the job ran in, when the model computed it successfully (even if the answer
    /// then came too late); nil when it never ran or the model failed. An executor that leaves it
    /// nil on a success is taken to have run the job alone.
    public var execution: ExecutionShare?

    public init(result: Result<InferenceOutcome, any Error>, queueNanoseconds: UInt64, computeNanoseconds: UInt64,
                execution: ExecutionShare? = nil) {
        self.result = result
        self.queueNanoseconds = queueNanoseconds
        self.computeNanoseconds = computeNanoseconds
        self.execution = execution
    }
}

/// Runs inference away from the HTTP threads. The pipeline only ever calls `submit`, so a batching
/// scheduler can replace the worker pool without touching it.
public protocol InferenceExecutor: Sendable {
    /// Queues `job`; `completion` is called exactly once, on an executor thread or, for a job
    /// refused at once (queue full, stopping), on the caller's thread. A job answered without a
    /// result completes with a `SchedulingRejection` naming why; a model's failure with its error.
    func submit(_ job: InferenceJob, completion: @escaping @Sendable (InferenceCompletion) -> Void)
}
