import DyNN
import Foundation

/// Several interchangeable instances of one model, for a backend that runs one execution per engine at
/// a time and so builds one engine per execution that may run at once (`Backend.makeEngines`). Each
/// `infer` takes an idle instance, or waits for one; the scheduler runs at most the model's
/// `ExecutionNeeds.concurrentExecutions` at once, so with that many replicas no call ever waits.
public final class ReplicatedModel: ServableModel, @unchecked Sendable {
    public let info: ServedModelInfo
    public let intraOpThreads: Int
    private let replicas: [any ServableModel]
    // Guarded by `condition`: indices of idle replicas.
    private let condition = NSCondition()
    private var idle: [Int]

    /// `replicas` must be non-empty and all serve the same model (the first one's `info` is used).
    public init(replicas: [any ServableModel]) {
        precondition(!replicas.isEmpty, "ReplicatedModel needs at least one replica")
        self.replicas = replicas
        info = replicas[0].info
        intraOpThreads = replicas[0].intraOpThreads
        idle = Array(replicas.indices.reversed())
    }

    public var count: Int { replicas.count }

    public func infer(_ inputs: [Tensor], options: RunOptions) throws -> InferenceOutcome {
        condition.lock()
        while idle.isEmpty { condition.wait() }
        let index = idle.removeLast()
        condition.unlock()
        defer {
            condition.lock()
            idle.append(index)
            condition.signal()
            condition.unlock()
        }
        return try replicas[index].infer(inputs, options: options)
    }
}
