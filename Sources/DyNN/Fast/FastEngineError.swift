/// Why the fast backend could not be built for a model.
public enum FastEngineError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A oneDNN call failed; `node` names the layer being prepared, when there is one.
    case dnnl(call: String, status: UInt32, node: String?)
    /// `FastEngineOptions.threads` must be 0 (all cores) or positive.
    case invalidThreads(Int)
    /// `FastEngineOptions.lane` must be 0 or positive.
    case invalidLane(Int)
    /// `FastEngineOptions.batchSizes` must be non-empty, each in `1...FastEngineOptions.maxPlannedBatch`.
    case invalidBatchSizes([Int])
    /// A pass found no value where its plan puts one (an engine bug, reported rather than answered wrongly).
    case missingValue(node: String)

    public var description: String {
        switch self {
        case .dnnl(let call, let status, let node):
            let location = node.map { " for node \"\($0)\"" } ?? ""
            return "oneDNN \(call) failed with status \(status)\(location)"
        case .invalidThreads(let threads):
            return "threads must be 0 (all cores) or positive, got \(threads)"
        case .invalidLane(let lane):
            return "lane must be 0 or positive, got \(lane)"
        case .invalidBatchSizes(let sizes):
            return "batch sizes to plan must be between 1 and \(FastEngineOptions.maxPlannedBatch) and at least one, got \(sizes)"
        case .missingValue(let node):
            return "the fast pass has no value for \(node)"
        }
    }
}
