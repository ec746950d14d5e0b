import Foundation

/// The process-wide count of cores that executions may occupy at once (`ComputeBudget.cores`).
/// An execution takes as many tokens as it has intra-op threads (1 for a single-threaded engine,
/// every core for one spread over all of them) for the duration of one `infer` call, never while
/// its worker waits for a batch to fill, so the running executions' threads never exceed the cores,
/// whatever mix of models runs.
///
/// Tokens are granted in request order: an execution that needs every core is not starved by a
/// stream of single-core ones behind it.
public final class CoreTokens: @unchecked Sendable {
    public let count: Int
    // Guarded by `condition`.
    private let condition = NSCondition()
    private var free: Int
    private var nextTicket: UInt64 = 0
    private var serving: UInt64 = 0

    public init(count: Int) {
        self.count = max(1, count)
        free = self.count
    }

    /// Runs `body` holding `tokens` cores (clamped to 1...count).
    func withTokens<T>(_ tokens: Int, _ body: () throws -> T) rethrows -> T {
        let wanted = min(max(1, tokens), count)
        condition.lock()
        let ticket = nextTicket
        nextTicket += 1
        while ticket != serving || free < wanted { condition.wait() }
        serving += 1
        free -= wanted
        // The next in line may fit in what is left.
        condition.broadcast()
        condition.unlock()
        defer {
            condition.lock()
            free += wanted
            condition.broadcast()
            condition.unlock()
        }
        return try body()
    }

    /// Cores not held by a running execution.
    var available: Int { condition.withLock { free } }
}
