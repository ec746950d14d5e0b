import DyNN
import Foundation

/// A fixed pool of worker threads sharing one bounded FIFO queue.
///
/// The queue bound is the back-pressure: past it a request gets 503 (reason `queue_full`) at once instead of waiting
/// behind minutes of work. `shutdown` lets queued jobs finish and then ends the threads.
public final class WorkerPoolExecutor: InferenceExecutor, @unchecked Sendable {
    private struct Pending {
        var job: InferenceJob
        var enqueued: UInt64
        var completion: @Sendable (InferenceCompletion) -> Void
    }

    private let condition = NSCondition()
    /// Taken slots are nil: a finished job's inputs and completion (which may reach back to this pool
    /// through the service context) must not stay referenced until the next compaction.
    private var queue: [Pending?] = []
    private var head = 0
    private var stopped = false
    private var running = 0
    public let threadCount: Int
    public let maxQueued: Int

    /// `threads` <= 0 means one per active core.
    public init(threads: Int, maxQueued: Int = 1024) {
        let count = threads > 0 ? threads : max(1, ProcessInfo.processInfo.activeProcessorCount)
        self.threadCount = count
        self.maxQueued = max(1, maxQueued)
        running = count
        for i in 0..<count {
            let thread = Thread { [self] in self.workLoop() }
            thread.name = "dyserve-infer-\(i)"
            // Deep networks recurse little, but give the engine room regardless of platform defaults.
            thread.stackSize = 8 << 20
            thread.start()
        }
    }

    public func submit(_ job: InferenceJob, completion: @escaping @Sendable (InferenceCompletion) -> Void) {
        let rejection: SchedulingRejection? = condition.withLock {
            if stopped {
                return SchedulingRejection(reason: .shutdown, status: 503, message: "the server is shutting down")
            }
            guard queue.count - head < maxQueued else {
                return SchedulingRejection(reason: .queueFull, status: 503,
                                           message: "the inference queue is full (\(maxQueued) requests waiting)")
            }
            queue.append(Pending(job: job, enqueued: DispatchTime.now().uptimeNanoseconds, completion: completion))
            condition.signal()
            return nil
        }
        // Answered outside the lock: the completion may do real work (encode the answer).
        if let rejection {
            completion(InferenceCompletion(result: .failure(rejection), queueNanoseconds: 0, computeNanoseconds: 0))
        }
    }

    /// Stops accepting work, lets queued jobs finish, and waits for the workers to end.
    public func shutdown() {
        condition.lock()
        stopped = true
        condition.broadcast()
        while running > 0 { condition.wait() }
        condition.unlock()
    }

    private func next() -> Pending? {
        condition.lock()
        defer { condition.unlock() }
        while head == queue.count && !stopped { condition.wait() }
        guard head < queue.count else {
            running -= 1
            condition.broadcast()
            return nil
        }
        let item = queue[head]
        queue[head] = nil
        head += 1
        // Compact now and then so the array does not grow without bound.
        if head > 256 && head * 2 > queue.count {
            queue.removeFirst(head)
            head = 0
        }
        return item
    }

    private func workLoop() {
        while let item = next() {
            let start = DispatchTime.now().uptimeNanoseconds
            let result: Result<InferenceOutcome, any Error> = item.job.isCancelled()
                ? .failure(SchedulingRejection.clientGone)
                : Result { try item.job.model.infer(item.job.inputs, options: item.job.options) }
            let end = DispatchTime.now().uptimeNanoseconds
            // Every job is an execution of its own here.
            let execution: ExecutionShare? = if case .success = result {
                ExecutionShare(batchSize: item.job.input.shape.first ?? 0, countsExecution: true)
            } else {
                nil
            }
            item.completion(InferenceCompletion(result: result,
                                                queueNanoseconds: start &- item.enqueued,
                                                computeNanoseconds: end &- start, execution: execution))
        }
    }
}
