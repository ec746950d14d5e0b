/// How a model's scheduler queues, batches and times out requests (the `scheduler` section).
public struct SchedulerSettings: Sendable, Equatable {
    /// Most samples merged into one execution; 1 disables dynamic batching.
    public var maxBatchSize: Int
    /// How long the oldest queued request may wait for others to join its batch.
    public var maxQueueDelayMicroseconds: Int
    /// Requests waiting per model; one more is refused at once.
    public var maxQueueSize: Int
    /// Longest a request may take from arrival to answer; requests may ask for less.
    public var timeoutMilliseconds: Int
    /// Status for a full queue: 503 (default) or 429.
    public var overloadStatus: Int

    /// The defaults are the `scheduler` section's (`ServiceConfig.Scheduler`), written there only.
    /// The values are not checked here: the configuration checks each key's range at start-up.
    public init(maxBatchSize: Int = ServiceConfig.Scheduler().maxBatchSize,
                maxQueueDelayMicroseconds: Int = ServiceConfig.Scheduler().maxQueueDelayMicroseconds,
                maxQueueSize: Int = ServiceConfig.Scheduler().maxQueueSize,
                timeoutMilliseconds: Int = ServiceConfig.Scheduler().timeoutMilliseconds,
                overloadStatus: Int = ServiceConfig.Scheduler().overloadStatus) {
        self.maxBatchSize = maxBatchSize
        self.maxQueueDelayMicroseconds = maxQueueDelayMicroseconds
        self.maxQueueSize = maxQueueSize
        self.timeoutMilliseconds = timeoutMilliseconds
        self.overloadStatus = overloadStatus
    }

    public init(_ config: ServiceConfig) {
        self.init(maxBatchSize: config.scheduler.maxBatchSize,
                  maxQueueDelayMicroseconds: config.scheduler.maxQueueDelayMicroseconds,
                  maxQueueSize: config.scheduler.maxQueueSize,
                  timeoutMilliseconds: config.scheduler.timeoutMilliseconds,
                  overloadStatus: config.scheduler.overloadStatus)
    }

    var batchingEnabled: Bool { maxBatchSize > 1 }
    var timeoutNanoseconds: UInt64 { UInt64(timeoutMilliseconds) * 1_000_000 }
    var queueDelayNanoseconds: UInt64 { UInt64(maxQueueDelayMicroseconds) * 1_000 }
}
