import DyNN
import Foundation

/// How the cores are shared between executions and each execution's intra-op threads.
///
/// The rule: the intra-op threads of the executions running at once never exceed `cores`. Each
/// model has its own intra-op thread count (`threads(forModelWithMultiplyAdds:)`); its scheduler
/// runs up to `cores / threads` executions of it at once, and every execution holds that many of
/// the process-wide `CoreTokens` while it computes, so models of different sizes share the cores
/// without oversubscribing them.
///
/// The reference engine computes on the calling thread (one intra-op thread). The fast engine
/// spreads an execution over its OpenMP threads; for a small model that costs more than it gains
/// (dy-digits, 0.3M multiply-adds: 0.050 ms on one thread, 0.070 ms on two, every layer paying an
/// OpenMP fork and join), so small models run single-threaded, two executions at once on 2 cores.
public struct ComputeBudget: Sendable, Equatable {
    public var cores: Int
    /// The configured intra-op threads: 0 = decide per model, else this many (at most `cores`).
    public var intraOpThreads: Int
    public var backend: Backend

    /// Below this many multiply-adds per sample, a fast-backend model runs on one intra-op thread
    /// when `intra_op_threads` is 0 (auto). A single core does about 20-40 GMAC/s on these
    /// convolutions, so such a pass takes well under a millisecond, about what the OpenMP forks and
    /// joins of its layers would cost on 2 threads; dy-mobilenetv2 (317M) stays on every core.
    public static let singleThreadMaxMultiplyAdds = 20_000_000

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

    /// Intra-op threads for one execution of a model with `multiplyAdds` per sample.
    public func threads(forModelWithMultiplyAdds multiplyAdds: Int) -> Int {
        if intraOpThreads > 0 { return intraOpThreads }
        switch backend {
        case .reference: return 1
        case .fast: return multiplyAdds < Self.singleThreadMaxMultiplyAdds ? 1 : cores
        }
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
        max(1, cores / min(max(1, threads), cores))
    }
}
