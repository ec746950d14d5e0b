import Dispatch
import DyNN
import Foundation

/// One model's queue and workers: bounded FIFO, dynamic batching, deadlines, cancellation.
///
/// Workers (`cores / intraOpThreads` of the model's) take the oldest request, wait up to
/// `max_queue_delay_us` from its arrival for compatible requests (`BatchKey`) to fill
/// `max_batch_size` samples, then run them as one execution holding the model's intra-op threads
/// worth of `CoreTokens`, and answer each request with its own rows of the outputs and trace.
/// Requests never wait behind an incompatible one for long: incompatible requests stay queued, in
/// order, for the next worker.
final class ModelScheduler: @unchecked Sendable {
    let name: String
    let settings: SchedulerSettings
    private let cores: CoreTokens
    /// Cores one execution of this model occupies.
    private let threadsPerExecution: Int
    private let metrics: ServiceMetrics.ModelMetrics?
    private let now: @Sendable () -> UInt64

    // Guarded by `condition`.
    private let condition = NSCondition()
    private var pending: [QueuedRequest] = []
    private var lastID: UInt64 = 0
    private var stopping = false
    private var executing = 0
    /// Workers waiting for work: a batch leaves them a share instead of idling a core.
    private var idleWorkers = 0
    /// Workers waiting for their batch to fill (`max_queue_delay_us`): every arrival may complete it.
    private var fillingWorkers = 0
    /// Callers of `waitUntilIdle`: woken when an execution ends.
    private var idleWaiters = 0

    init(name: String, settings: SchedulerSettings, cores: CoreTokens, threadsPerExecution: Int,
         metrics: ServiceMetrics.ModelMetrics?, now: @escaping @Sendable () -> UInt64) {
        self.name = name
        self.settings = settings
        self.cores = cores
        self.threadsPerExecution = min(max(1, threadsPerExecution), cores.count)
        self.metrics = metrics
        self.now = now
        let workers = max(1, cores.count / self.threadsPerExecution)
        for i in 0..<workers {
            let label = "dyserve-\(name)-\(i)"
            let thread = Thread { [self] in
                // Named from inside: on Linux, Foundation does not pass a name set before start to
                // the kernel, and profilers (perf, top -H) would show the creating thread's name.
                ThreadName.set(label)
                self.workLoop()
            }
            thread.name = label
            thread.stackSize = 8 << 20
            thread.start()
        }
    }

    /// Queues `job`, or answers it at once through `completion` when the queue is full or the
    /// scheduler is stopping.
    func submit(_ job: InferenceJob, completion: @escaping @Sendable (InferenceCompletion) -> Void) {
        let arrived = now()
        var rejection: SchedulingRejection?
        var id: UInt64 = 0
        condition.lock()
        if stopping {
            rejection = SchedulingRejection(reason: .shutdown, status: 503, message: "the server is shutting down")
        } else if pending.count >= settings.maxQueueSize {
            rejection = SchedulingRejection(
                reason: .queueFull, status: settings.overloadStatus,
                message: "model \(name) has \(pending.count) requests queued, the limit (max_queue_size); retry later")
        } else {
            lastID += 1
            id = lastID
            let deadline = arrived &+ min(job.timeout ?? .max, settings.timeoutNanoseconds)
            pending.append(QueuedRequest(id: id, job: job, key: BatchKey(inputs: job.inputs, options: job.options),
                                         samples: job.input.shape.first ?? 0, enqueued: arrived,
                                         deadline: deadline, completion: completion))
            metrics?.queueDepth.set(pending.count)
        }
        // Wakes as few threads as the arrival needs, after unlocking so the woken worker does not
        // block on the lock at once: one idle worker takes it (each arrival wakes one more); a
        // worker filling a batch re-checks it. Busy workers look at the queue when they finish.
        // A signal could wake a `waitUntilIdle` caller instead of a worker, so with one waiting
        // everybody is woken.
        let wake: Wake = if rejection != nil {
            .none
        } else if fillingWorkers > 0 || idleWaiters > 0 {
            .all
        } else {
            idleWorkers > 0 ? .one : .none
        }
        condition.unlock()
        switch wake {
        case .none: break
        case .one: condition.signal()
        case .all: condition.broadcast()
        }
        if let rejection {
            completion(InferenceCompletion(result: .failure(rejection), queueNanoseconds: 0, computeNanoseconds: 0))
            return
        }
        // Registered after queueing: if the client is already gone this drops it at once.
        job.onCancel?({ [weak self, id] in self?.dropGone(id) })
    }

    /// Requests waiting (not yet taken by a worker).
    var queued: Int { condition.withLock { pending.count } }

    /// Stops accepting work; queued requests still run (without waiting for batches to fill).
    func beginShutdown() {
        condition.withLock {
            stopping = true
            condition.broadcast()
        }
    }

    private enum Wake { case none, one, all }

    /// Waits until nothing is queued or running, or `deadline` passes; true when idle.
    func waitUntilIdle(before deadline: Date) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        idleWaiters += 1
        defer { idleWaiters -= 1 }
        while !pending.isEmpty || executing > 0 {
            if !condition.wait(until: deadline) { return pending.isEmpty && executing == 0 }
        }
        return true
    }

    /// Answers every still-queued request with 503 (shutdown); for when the shutdown time is up.
    func abandonQueued() -> Int {
        let abandoned = condition.withLock {
            let all = pending
            pending.removeAll()
            metrics?.queueDepth.set(0)
            condition.broadcast()
            return all
        }
        let rejection = SchedulingRejection(reason: .shutdown, status: 503,
                                            message: "the server stopped before this request could run")
        for item in abandoned { answer(item, rejection) }
        return abandoned.count
    }

    /// Answers queued requests whose deadline has passed with 503 (timeout).
    func expireOverdue() {
        let expired = condition.withLock { removeExpiredLocked(at: now()) }
        answerExpired(expired)
    }

    // MARK: Workers

    private func workLoop() {
        while let batch = nextBatch() {
            execute(batch)
            condition.withLock {
                executing -= 1
                // Only `waitUntilIdle` waits for an execution to end; idle workers would find
                // nothing new.
                if idleWaiters > 0 { condition.broadcast() }
            }
        }
    }

    /// Blocks until a batch is ready and returns it (counted in `executing`); nil once stopped and drained.
    private func nextBatch() -> [QueuedRequest]? {
        while true {
            condition.lock()
            while pending.isEmpty && !stopping {
                idleWorkers += 1
                condition.wait()
                idleWorkers -= 1
            }
            if pending.isEmpty {
                // Stopping and drained: nothing can be queued any more.
                condition.unlock()
                return nil
            }
            let expired = removeExpiredLocked(at: now())
            if !expired.isEmpty {
                condition.unlock()
                answerExpired(expired)
                continue
            }
            if settings.batchingEnabled && !stopping {
                let head = pending[0]
                // The wait ends on the wall clock; `now` only says how much of the delay is left
                // (so a test's stopped clock cannot stall a worker).
                let waited = now() &- head.enqueued
                let left = settings.queueDelayNanoseconds > waited ? settings.queueDelayNanoseconds - waited : 0
                let flushAt = Date(timeIntervalSinceNow: Double(left) / 1e9)
                fillingWorkers += 1
                while !stopping, pending.first?.id == head.id, compatibleSamples(with: head) < settings.maxBatchSize,
                      Date() < flushAt {
                    _ = condition.wait(until: flushAt)
                }
                fillingWorkers -= 1
                // Another worker took it, or its client left: start over with the new head.
                guard pending.first?.id == head.id else {
                    condition.unlock()
                    continue
                }
            }
            let batch = takeBatchLocked()
            executing += 1
            metrics?.queueDepth.set(pending.count)
            condition.unlock()
            return batch
        }
    }

    /// Samples queued that could join `head`'s batch, `head` included, in queue order.
    private func compatibleSamples(with head: QueuedRequest) -> Int {
        var total = 0
        for item in pending where item.key == head.key {
            total += item.samples
            if total >= settings.maxBatchSize { break }
        }
        return total
    }

    /// Removes the head and the compatible requests after it that fit in `max_batch_size`.
    /// A request larger than the limit on its own still runs, alone.
    private func takeBatchLocked() -> [QueuedRequest] {
        let head = pending.removeFirst()
        var batch = [head]
        guard settings.batchingEnabled else { return batch }
        // With other workers idle, take only an even share of what is queued, so a burst runs on
        // every execution slot at once instead of as one large batch on a single core.
        var limit = settings.maxBatchSize
        if idleWorkers > 0 {
            let queued = pending.reduce(head.samples) { $0 + ($1.key == head.key ? $1.samples : 0) }
            limit = min(limit, max(1, (queued + idleWorkers) / (idleWorkers + 1)))
        }
        var total = head.samples
        var index = 0
        while index < pending.count && total < limit {
            let item = pending[index]
            if item.key == head.key && total + item.samples <= limit {
                batch.append(item)
                total += item.samples
                pending.remove(at: index)
            } else {
                index += 1
            }
        }
        return batch
    }

    private func removeExpiredLocked(at time: UInt64) -> [QueuedRequest] {
        guard pending.contains(where: { $0.deadline <= time }) else { return [] }
        let expired = pending.filter { $0.deadline <= time }
        pending.removeAll { $0.deadline <= time }
        metrics?.queueDepth.set(pending.count)
        condition.broadcast()
        return expired
    }

    private func answerExpired(_ expired: [QueuedRequest]) {
        for item in expired {
            answer(item, SchedulingRejection(reason: .timeout, status: 503,
                                             message: "the request's deadline passed while it waited in the queue"))
        }
    }

    /// Answers a request without running it; the pipeline counts it under `rejection.reason`.
    private func answer(_ item: QueuedRequest, _ rejection: SchedulingRejection) {
        item.completion(InferenceCompletion(result: .failure(rejection),
                                            queueNanoseconds: now() &- item.enqueued, computeNanoseconds: 0))
    }

    /// The client of a queued request hung up: drop it without running it.
    private func dropGone(_ id: UInt64) {
        let item: QueuedRequest? = condition.withLock {
            guard let index = pending.firstIndex(where: { $0.id == id }) else { return nil }
            let item = pending.remove(at: index)
            metrics?.queueDepth.set(pending.count)
            condition.broadcast()
            return item
        }
        guard let item else { return }  // already running or answered
        answer(item, .clientGone)
    }

    // MARK: Execution

    private func execute(_ batch: [QueuedRequest]) {
        // A client may have left between dequeue and now; skip its work.
        var live: [QueuedRequest] = []
        for item in batch {
            if item.job.isCancelled() {
                answer(item, .clientGone)
            } else {
                live.append(item)
            }
        }
        guard !live.isEmpty else { return }
        metrics?.batchSize.record(live.reduce(0) { $0 + $1.samples })
        let (start, runs, end) = cores.withTokens(threadsPerExecution) { () -> (UInt64, [ExecutedRequest], UInt64) in
            let start = now()
            let runs = run(live)
            return (start, runs, now())
        }
        for (item, ran) in zip(live, runs) {
            var result = ran.result
            if case .success = result, end > item.deadline {
                result = .failure(SchedulingRejection(reason: .timeout, status: 504,
                                                      message: "the request's deadline passed while it was computed",
                                                      retryAfterSeconds: nil))
            }
            var completion = InferenceCompletion(result: result, queueNanoseconds: start &- item.enqueued,
                                                 computeNanoseconds: end &- start, execution: ran.execution)
            completion.inputNanoseconds = ran.inputNanoseconds
            completion.outputNanoseconds = ran.outputNanoseconds
            item.completion(completion)
        }
    }

    /// One request's part of an execution: its result and, when the model computed it, the
    /// execution it shared.
    private struct ExecutedRequest {
        var result: Result<InferenceOutcome, any Error>
        var execution: ExecutionShare?
        /// Merging the batch's inputs and splitting its outputs (0 when it ran alone).
        var inputNanoseconds: UInt64 = 0
        var outputNanoseconds: UInt64 = 0
    }

    /// Runs `items` (same model, same `BatchKey`) as one execution and splits the result.
    ///
    /// When the merged execution fails, its error is never dropped: an input the model refuses
    /// (`RequestError`) belongs to one request, so each then runs alone and only the culprit gets
    /// the refusal; any other error (an engine failure) is the whole execution's, and every
    /// request of the batch is answered with it (a 500 from the pipeline).
    private func run(_ items: [QueuedRequest]) -> [ExecutedRequest] {
        let model = items[0].job.model
        let options = items[0].job.options
        guard items.count > 1 else { return items.map { runAlone($0, model: model, options: options) } }
        let sizes = BatchAssembly.batchSizes(items.map(\.job.input))
        let mergeStart = now()
        let merged = BatchAssembly.merge(inputsOf: items.map(\.job.inputs))
        let mergeEnd = now()
        let outcome: InferenceOutcome
        do {
            outcome = try model.infer(merged, options: options)
        } catch is RequestError {
            return items.map { runAlone($0, model: model, options: options) }
        } catch {
            return items.map { _ in ExecutedRequest(result: .failure(error), execution: nil) }
        }
        let splitStart = now()
        let pieces: [InferenceOutcome]
        do {
            pieces = try BatchAssembly.split(outcome, sizes: sizes)
        } catch {
            return items.map { _ in ExecutedRequest(result: .failure(error), execution: nil) }
        }
        let splitEnd = now()
        let total = sizes.reduce(0, +)
        return pieces.indices.map { i in
            ExecutedRequest(result: .success(pieces[i]),
                            execution: ExecutionShare(batchSize: total, countsExecution: i == 0),
                            inputNanoseconds: mergeEnd &- mergeStart, outputNanoseconds: splitEnd &- splitStart)
        }
    }

    private func runAlone(_ item: QueuedRequest, model: any ServableModel, options: RunOptions) -> ExecutedRequest {
        let result = Result { try model.infer(item.job.inputs, options: options) }
        let ran: ExecutionShare? = if case .success = result {
            ExecutionShare(batchSize: item.samples, countsExecution: true)
        } else {
            nil
        }
        return ExecutedRequest(result: result, execution: ran)
    }
}
