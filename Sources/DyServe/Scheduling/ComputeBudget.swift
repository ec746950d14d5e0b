import Foundation

/// How the cores are shared between concurrent executions and each execution's intra-op threads.
///
/// The rule: `executions x intraOpThreads <= cores`, with at least one execution. The reference
/// engine computes on the calling thread (one intra-op thread), so on 2 cores two executions run
/// at once, of the same model or of two models. An engine that spreads one execution over every
/// core (e.g. oneDNN with intra-op threads = cores) gets one execution at a time. The executions
/// are process-wide slots (`ExecutionSlots`), shared by every model's scheduler.
public struct ComputeBudget: Sendable, Equatable {
    public var cores: Int
    public var intraOpThreads: Int

    /// `cores` <= 0 means the active processor count; `intraOpThreads` <= 0 means all cores.
    public init(cores: Int = 0, intraOpThreads: Int = 1) {
        let available = cores > 0 ? cores : max(1, ProcessInfo.processInfo.activeProcessorCount)
        self.cores = available
        self.intraOpThreads = intraOpThreads > 0 ? min(intraOpThreads, available) : available
    }

    /// From `inference.threads` (the core budget) and `inference.intra_op_threads`; the fast
    /// backend spreads each execution over every core, so it gets one execution at a time.
    public init(_ config: ServiceConfig) {
        self.init(cores: config.inference.threads,
                  intraOpThreads: config.inference.backend == .fast ? 0 : config.inference.intraOpThreads)
    }

    /// Executions allowed at once so that executions x intra-op threads never exceed the cores.
    public var concurrentExecutions: Int { max(1, cores / intraOpThreads) }
}
