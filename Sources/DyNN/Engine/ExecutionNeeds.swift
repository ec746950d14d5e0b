/// What the executions of one model need from the machine, as the backend that runs them states it: the
/// threads one execution keeps busy and how many executions may run at once on the cores given, so a
/// service can share its cores without knowing how a backend computes.
public struct ExecutionNeeds: Sendable, Equatable {
    /// Threads one execution keeps busy (its intra-op threads), between 1 and the cores.
    public let threadsPerExecution: Int
    /// Executions of the model that may run at the same time without their threads exceeding the cores.
    public let concurrentExecutions: Int

    /// `threadsPerExecution` clamped to `1...cores`, and as many executions at once as fit in `cores`.
    public init(threadsPerExecution: Int, cores: Int) {
        let cores = max(1, cores)
        self.threadsPerExecution = min(max(1, threadsPerExecution), cores)
        concurrentExecutions = max(1, cores / self.threadsPerExecution)
    }
}

extension Backend {
    /// The needs of a model with `multiplyAdds` per sample on `cores` cores. `intraOpThreads` > 0 is an
    /// operator's choice of threads per execution and wins; 0 lets the backend decide: the reference ops
    /// compute on the calling thread, the fast engine spreads a model over every core unless it is too
    /// small to gain from it (`FastEngine.threads(forMultiplyAdds:cores:)`).
    public func executionNeeds(multiplyAdds: Int, cores: Int, intraOpThreads: Int = 0) -> ExecutionNeeds {
        let threads = if intraOpThreads > 0 {
            intraOpThreads
        } else {
            switch self {
            case .reference: 1
            case .fast: FastEngine.threads(forMultiplyAdds: multiplyAdds, cores: cores)
            }
        }
        return ExecutionNeeds(threadsPerExecution: threads, cores: cores)
    }

    /// The engines that let `needs.concurrentExecutions` executions of `model` run at once, each on
    /// `needs.threadsPerExecution` threads: the reference model itself (its `run` may be called from
    /// several threads at once), or one fast engine per concurrent execution, since a fast engine runs
    /// one pass at a time in its planned memory; engine `i` computes on lane `i`, so the engines of
    /// different models that may run at the same time never share threads. `options` gives the fast
    /// engines' precision and planned batch sizes; its threads and lane are set here.
    public func makeEngines(for model: Model, needs: ExecutionNeeds,
                            options: FastEngineOptions = FastEngineOptions()) throws(FastEngineError) -> [any InferenceEngine] {
        switch self {
        case .reference:
            return [model]
        case .fast:
            var engines: [any InferenceEngine] = []
            for lane in 0..<needs.concurrentExecutions {
                var laneOptions = options
                laneOptions.threads = needs.threadsPerExecution
                laneOptions.lane = lane
                engines.append(try FastEngine(model: model, options: laneOptions))
            }
            return engines
        }
    }
}
