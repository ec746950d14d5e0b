import Dispatch
import Foundation

/// The `InferenceExecutor` the service runs: one `ModelScheduler` per model name, all sharing the
/// process-wide `CoreTokens`, plus a sweeper that answers requests whose deadline passed
/// while every worker was busy.
///
/// Shutdown: `beginShutdown` refuses new work (503, reason shutdown) and lets queued requests run
/// without waiting for batches to fill; `waitUntilDrained` returns once everything accepted has
/// been answered; `abandonQueued` answers whatever is left when time is up.
public final class SchedulingExecutor: InferenceExecutor, @unchecked Sendable {
    public let settings: SchedulerSettings
    public let budget: ComputeBudget
    public let cores: CoreTokens
    /// The small-model lane's own tokens (`ComputeBudget.runsInSmallModelLane`).
    public let smallModelCores: CoreTokens
    private let metrics: ServiceMetrics?
    private let now: @Sendable () -> UInt64
    private let lock = NSLock()
    private var schedulers: [String: ModelScheduler] = [:]
    private var stopping = false
    private let sweeper: DispatchSourceTimer?

    /// `sweepInterval` nil disables the periodic deadline sweep (tests call `expireOverdue`);
    /// `now` is the clock deadlines are measured on (uptime nanoseconds unless a test injects one).
    public init(settings: SchedulerSettings, budget: ComputeBudget = ComputeBudget(), metrics: ServiceMetrics? = nil,
                sweepInterval: DispatchTimeInterval? = .milliseconds(10),
                now: @escaping @Sendable () -> UInt64 = { DispatchTime.now().uptimeNanoseconds }) {
        self.settings = settings
        self.budget = budget
        self.cores = CoreTokens(count: budget.cores)
        self.smallModelCores = CoreTokens(count: budget.cores)
        self.metrics = metrics
        self.now = now
        if let sweepInterval {
            let timer = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "dyserve.scheduler.sweep"))
            timer.schedule(deadline: .now() + sweepInterval, repeating: sweepInterval, leeway: .milliseconds(5))
            sweeper = timer
        } else {
            sweeper = nil
        }
        sweeper?.setEventHandler { [weak self] in self?.expireOverdue() }
        sweeper?.resume()
    }

    deinit {
        sweeper?.cancel()
    }

    public func submit(_ job: InferenceJob, completion: @escaping @Sendable (InferenceCompletion) -> Void) {
        scheduler(for: job).submit(job, completion: completion)
    }

    /// The model's scheduler, created on first use with as many workers as the model's executions
    /// fit in the cores at once, holding the shared cores or, for a small model, the small-model
    /// lane's. Names reach here only after the registry resolved them, so the set stays bounded by
    /// the configured models.
    func scheduler(for job: InferenceJob) -> ModelScheduler {
        let name = job.modelName
        return lock.withLock {
            if let s = schedulers[name] { return s }
            let s = ModelScheduler(name: name, settings: settings, cores: coreTokens(for: job.model),
                                   threadsPerExecution: job.model.intraOpThreads,
                                   metrics: metrics?.model(name), now: now)
            if stopping { s.beginShutdown() }
            schedulers[name] = s
            return s
        }
    }

    /// The tokens `model`'s executions hold: the small-model lane's or the shared ones.
    func coreTokens(for model: any ServableModel) -> CoreTokens {
        budget.runsInSmallModelLane(multiplyAdds: model.info.multiplyAdds, threads: model.intraOpThreads)
            ? smallModelCores : cores
    }

    private var all: [ModelScheduler] { lock.withLock { Array(schedulers.values) } }

    /// Requests waiting in every model's queue.
    public var queued: Int { all.reduce(0) { $0 + $1.queued } }

    public func expireOverdue() {
        for s in all { s.expireOverdue() }
    }

    public func beginShutdown() {
        let current = lock.withLock {
            stopping = true
            return Array(schedulers.values)
        }
        for s in current { s.beginShutdown() }
    }

    /// Waits until every accepted request has been answered, or `timeout` passes; true if drained.
    public func waitUntilDrained(timeout: Duration) -> Bool {
        let seconds = Double(timeout.components.seconds) + Double(timeout.components.attoseconds) / 1e18
        let deadline = Date(timeIntervalSinceNow: seconds)
        return all.allSatisfy { $0.waitUntilIdle(before: deadline) }
    }

    /// Waits until every request of `model` accepted so far has been answered, or `timeout`
    /// passes; true if it drained (a model never submitted to is drained).
    public func waitUntilIdle(model: String, timeout: Duration) -> Bool {
        guard let scheduler = lock.withLock({ schedulers[model] }) else { return true }
        let seconds = Double(timeout.components.seconds) + Double(timeout.components.attoseconds) / 1e18
        return scheduler.waitUntilIdle(before: Date(timeIntervalSinceNow: seconds))
    }

    /// Answers every request still queued with 503; returns how many there were.
    @discardableResult
    public func abandonQueued() -> Int {
        all.reduce(0) { $0 + $1.abandonQueued() }
    }

    /// Stops accepting work and waits for everything accepted to be answered.
    public func shutdown() {
        beginShutdown()
        _ = waitUntilDrained(timeout: .seconds(86_400))
    }
}
