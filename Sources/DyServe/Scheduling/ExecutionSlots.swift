import Dispatch

/// The process-wide count of executions that may compute at once (`ComputeBudget`). Every
/// model's workers take a slot for the duration of one `infer` call, never while they wait for
/// a batch to fill, so waiting never holds a core.
public final class ExecutionSlots: Sendable {
    public let count: Int
    private let semaphore: DispatchSemaphore

    public init(count: Int) {
        self.count = max(1, count)
        semaphore = DispatchSemaphore(value: self.count)
    }

    func withSlot<T>(_ body: () throws -> T) rethrows -> T {
        semaphore.wait()
        defer { semaphore.signal() }
        return try body()
    }
}
