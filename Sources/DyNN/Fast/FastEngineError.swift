/// Why the fast backend could not be built for a model.
public enum FastEngineError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A oneDNN call failed; `node` names the layer being prepared, when there is one.
    case dnnl(call: String, status: UInt32, node: String?)
    /// `FastEngineOptions.threads` must be 0 (all cores) or positive.
    case invalidThreads(Int)
    /// `FastEngineOptions.lane` must be 0 or positive.
    case invalidLane(Int)

    public var description: String {
        switch self {
        case .dnnl(let call, let status, let node):
            let location = node.map { " for node \"\($0)\"" } ?? ""
            return "oneDNN \(call) failed with status \(status)\(location)"
        case .invalidThreads(let threads):
            return "threads must be 0 (all cores) or positive, got \(threads)"
        case .invalidLane(let lane):
            return "lane must be 0 or positive, got \(lane)"
        }
    }
}
