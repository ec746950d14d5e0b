import DyNN
import Foundation
import Testing
@testable import DyServe

@Suite struct WorkerPoolExecutorTests {
    @Test func runsEveryJobOnceOffTheCallingThread() {
        let pool = WorkerPoolExecutor(threads: 2, maxQueued: 1000)
        let group = DispatchGroup()
        let results = Collected()
        let caller = UInt(pthread_self())
        for i in 0..<100 {
            group.enter()
            let input = Tensor(shape: [1, 1, 2, 2], data: [Float(i), 0, 0, 0])
            pool.submit(InferenceJob(modelName: "t", model: TestModel(), input: input, options: RunOptions())) { c in
                #expect(UInt(pthread_self()) != caller)
                if case .success(let o) = c.result { results.append(o.outputs[0].data[0]) }
                group.leave()
            }
        }
        group.waitInTest("100 jobs to complete")
        #expect(results.values.count == 100)
        pool.shutdown()
    }

    @Test func refusesBeyondTheQueueBoundAndAfterShutdown() {
        let pool = WorkerPoolExecutor(threads: 1, maxQueued: 1)
        let gate = DispatchSemaphore(value: 0)
        let started = DispatchSemaphore(value: 0)
        let blocker = BlockingModel(started: started, gate: gate)
        let input = Tensor(shape: [1, 1, 2, 2], data: [0, 0, 0, 0])
        let job = InferenceJob(modelName: "t", model: blocker, input: input, options: RunOptions())
        let done = DispatchGroup()
        done.enter()
        pool.submit(job) { _ in done.leave() }
        started.waitInTest("the first job to start")  // the worker is busy with it
        done.enter()
        pool.submit(job) { c in
            #expect(Self.rejection(c) == nil)
            done.leave()
        }
        let refused = Completions()
        pool.submit(job) { refused.append($0) }
        #expect(refused.values.map(Self.rejection) == [.queueFull])
        #expect(refused.values.first.map { Self.status($0) } == 503)
        gate.signal()
        gate.signal()
        done.waitInTest("both jobs to complete")
        pool.shutdown()
        pool.submit(job) { refused.append($0) }
        #expect(refused.values.map(Self.rejection) == [.queueFull, .shutdown])
    }

    /// A finished job is let go at once: the pool used to keep it in its queue until the next
    /// compaction (256 jobs later), holding the request's inputs and its completion, and through
    /// the completion the service context and so the pool itself: a cycle that LeakSanitizer found
    /// (docs/fuzzing.md, "Sanitizers on the Swift test suite").
    @Test func releasesAFinishedJobsInputsAndCompletion() {
        let pool = WorkerPoolExecutor(threads: 1)
        defer { pool.shutdown() }
        final class Owner: Sendable {}
        weak var released: Owner?
        let done = DispatchSemaphore(value: 0)
        do {
            let owner = Owner()
            released = owner
            let input = Tensor(shape: [1, 1, 2, 2], data: [1, 0, 0, 0])
            pool.submit(InferenceJob(modelName: "t", model: TestModel(), input: input, options: RunOptions())) { _ in
                withExtendedLifetime(owner) { _ = done.signal() }
            }
        }
        done.waitInTest("the job to complete")
        waitUntil("the pool lets go of the finished job's completion") { released == nil }
    }

    private static func rejection(_ c: InferenceCompletion) -> RejectionReason? {
        if case .failure(let r as SchedulingRejection) = c.result { return r.reason }
        return nil
    }

    private static func status(_ c: InferenceCompletion) -> Int? {
        if case .failure(let r as SchedulingRejection) = c.result { return r.status }
        return nil
    }
}

/// Completions collected from any thread.
final class Completions: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [InferenceCompletion] = []
    func append(_ c: InferenceCompletion) { lock.withLock { items.append(c) } }
    var values: [InferenceCompletion] { lock.withLock { items } }
}

/// Signals `started` and blocks until `gate` is signalled.
struct BlockingModel: ServableModel {
    let started: DispatchSemaphore
    let gate: DispatchSemaphore
    var info: ServedModelInfo { TestModel().info }
    func infer(_ inputs: [Tensor], options: RunOptions) throws -> InferenceOutcome {
        started.signal()
        gate.waitAtGate()
        return try TestModel().infer(inputs, options: options)
    }
}

final class Collected: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [Float] = []
    func append(_ v: Float) { lock.withLock { items.append(v) } }
    var values: [Float] { lock.withLock { items } }
}

@Suite struct CancellationTests {
    @Test func cancelledJobsAreSkipped() {
        let pool = WorkerPoolExecutor(threads: 1)
        defer { pool.shutdown() }
        let done = DispatchSemaphore(value: 0)
        let outcome = ResultBox()
        let job = InferenceJob(modelName: "t", model: BrokenModel(), input: Tensor(shape: [1, 1, 2, 2], data: [0, 0, 0, 0]),
                               options: RunOptions(), isCancelled: { true })
        pool.submit(job) { c in
            outcome.set(c.result)
            done.signal()
        }
        done.waitInTest("the cancelled job's completion")
        // BrokenModel would have thrown its Bug: the cancelled job never ran.
        #expect(outcome.isCancelled)
    }

    @Test func aGoneClientGets499InMetrics() {
        let gated = GatedExecutor()
        let api = APIHarness(executor: gated)
        let context = RequestContext()
        let box = ResponseBox()
        api.handler.handle(HTTPRequest(method: "POST", path: "/infer",
                                       body: Array(#"{"model": "test", "input": [[[[0, 0], [0, 0]]]]}"#.utf8),
                                       context: context)) { box.put($0) }
        waitUntil("the job reaches the executor") { gated.heldCount > 0 }
        context.cancel()
        gated.release()
        #expect(box.wait().status == 499)
        #expect(api.get("/metrics").text.contains(#"dyserve_requests_total{model="test",code="499"} 1"#))
    }
}

final class ResultBox: @unchecked Sendable {
    private let lock = NSLock()
    private var result: Result<InferenceOutcome, any Error>?
    func set(_ r: Result<InferenceOutcome, any Error>) { lock.withLock { result = r } }
    var isCancelled: Bool {
        lock.withLock {
            if case .failure(let e as SchedulingRejection)? = result { return e.reason == .clientGone }
            return false
        }
    }
}
