/// A job waiting in a model's queue, with what the scheduler needs to batch, expire and answer it.
struct QueuedRequest: Sendable {
    var id: UInt64
    var job: InferenceJob
    var key: BatchKey
    /// Samples in the job's input (its batch dimension).
    var samples: Int
    /// Uptime in nanoseconds when it was queued.
    var enqueued: UInt64
    /// Uptime in nanoseconds after which its answer is no longer wanted.
    var deadline: UInt64
    var completion: @Sendable (InferenceCompletion) -> Void
}
