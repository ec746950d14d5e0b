import DyNN
import Foundation

/// How the cores are shared between executions and each execution's intra-op threads.
///
/// The rule: the intra-op threads of the executions running at once never exceed `cores`. Each
/// model's backend states what its executions need (`Backend.executionNeeds`: threads per execution
/// and how many fit at once); its scheduler runs up to that many executions of it at once, and every
/// execution holds as many of the process-wide `CoreTokens` as it has threads while it computes, so
/// models of different sizes share the cores without oversubscribing them.
public struct ComputeBudget: Sendable, Equatable {
    public var cores: Int
    /// The configured intra-op threads: 0 = decide per model, else this many (at most `cores`).
    public var intraOpThreads: Int
    public var backend: Backend

    /// `cores` <= 0 means the active processor count; `intraOpThreads` <= 0 means decide per model.
    public init(cores: Int = 0, intraOpThreads: Int = 1, backend: Backend = .reference) {
        let available = cores > 0 ? cores : max(1, ProcessInfo.processInfo.activeProcessorCount)
        self.cores = available
        self.intraOpThreads = intraOpThreads > 0 ? min(intraOpThreads, available) : 0
        self.backend = backend
    }

    /// From `inference.threads` (the core budget), `inference.intra_op_threads` and `inference.backend`.
    public init(_ config: ServiceConfig) {
        self.init(cores: config.inference.threads, intraOpThreads: config.inference.intraOpThreads,
                  backend: config.inference.backend)
    }

    /// What executions of a model with `multiplyAdds` per sample need, as the backend states it (the
    /// configured intra-op threads win when set).
    public func needs(forModelWithMultiplyAdds multiplyAdds: Int) -> ExecutionNeeds {
        backend.executionNeeds(multiplyAdds: multiplyAdds, cores: cores, intraOpThreads: intraOpThreads)
    }

    /// Intra-op threads for one execution of a model with `multiplyAdds` per sample.
    public func threads(forModelWithMultiplyAdds multiplyAdds: Int) -> Int {
        needs(forModelWithMultiplyAdds: multiplyAdds).threadsPerExecution
    }

    /// Below this many multiply-adds per sample, a one-thread model is small: a pass takes a small
    /// fraction of a millisecond on one core, far less than a large model's batch holds the cores.
    public static let smallModelMaxMultiplyAdds = 2_000_000

    /// Whether executions of a model run in the small-model lane: their own core tokens instead of the
    /// shared ones, so a request for a sub-millisecond model never queues behind a large model's batch.
    /// The price is brief oversubscription (at most `cores` small passes beside a large one), bounded
    /// by how short small passes are.
    public func runsInSmallModelLane(multiplyAdds: Int, threads: Int) -> Bool {
        threads == 1 && multiplyAdds > 0 && multiplyAdds < Self.smallModelMaxMultiplyAdds
    }

    /// Executions of one model at once when each uses `threads` intra-op threads.
    public func concurrentExecutions(threads: Int) -> Int {
        ExecutionNeeds(threadsPerExecution: threads, cores: cores).concurrentExecutions
    }
}
