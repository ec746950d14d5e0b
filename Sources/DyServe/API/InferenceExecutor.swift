import DyNN

/// One unit of work for the executor: a model, its input batch and how to run it.
public struct InferenceJob: Sendable {
    public var modelName: String
    public var model: any ServableModel
    public var input: Tensor
    public var options: RunOptions
    /// True once nobody waits for the answer (client gone, server stopping): the executor then
    /// skips the computation and completes with `InferenceCancelled`.
    public var isCancelled: @Sendable () -> Bool

    public init(modelName: String, model: any ServableModel, input: Tensor, options: RunOptions,
                isCancelled: @escaping @Sendable () -> Bool = { false }) {
        self.modelName = modelName
        self.model = model
        self.input = input
        self.options = options
        self.isCancelled = isCancelled
    }
}

/// A job skipped because its client had gone before it started.
public struct InferenceCancelled: Error, Sendable, CustomStringConvertible {
    public init() {}
    public var description: String { "the client went away before inference started" }
}

/// How a job went, with the time it waited and the time it computed.
public struct InferenceCompletion: Sendable {
    public var result: Result<InferenceOutcome, any Error>
    public var queueNanoseconds: UInt64
    public var computeNanoseconds: UInt64

    public init(result: Result<InferenceOutcome, any Error>, queueNanoseconds: UInt64, computeNanoseconds: UInt64) {
        self.result = result
        self.queueNanoseconds = queueNanoseconds
        self.computeNanoseconds = computeNanoseconds
    }
}

/// Runs inference away from the HTTP threads. The routes only ever call `submit`, so a batching
/// scheduler can replace the worker pool without touching them.
public protocol InferenceExecutor: Sendable {
    /// Queues `job`; `completion` is called exactly once, on an executor thread.
    /// Throws `RequestError.unavailable` when the queue is full or the executor has stopped.
    func submit(_ job: InferenceJob, completion: @escaping @Sendable (InferenceCompletion) -> Void) throws(RequestError)
}
