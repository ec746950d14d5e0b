import Dispatch
import DyNN
import Foundation
import Testing
@testable import DyServe

/// A model's intra-op threads decide how many of its executions run at once on the core budget,
/// and `ReplicatedModel` gives each concurrent execution its own instance.
@Suite struct IntraOpThreadsTests {
    /// `GatedRecordingModel` reporting a given intra-op thread count.
    struct Threaded: ServableModel {
        let inner: GatedRecordingModel
        let intraOpThreads: Int
        var info: ServedModelInfo { inner.info }
        func infer(_ inputs: [Tensor], options: RunOptions) throws -> InferenceOutcome {
            try inner.infer(inputs, options: options)
        }
    }

    @Test func aSingleThreadedModelRunsOneExecutionPerCore() {
        let model = GatedRecordingModel(blockedCalls: 2)
        let threaded = Threaded(inner: model, intraOpThreads: 1)
        let h = SchedulerHarness(model: threaded, settings: SchedulerSettings(maxBatchSize: 1), executions: 2)
        // The test model is tiny, so its tokens are the small-model lane's; the rule is the same.
        let cores = h.executor.coreTokens(for: threaded)
        let a = h.send(inferBody([[1, 0, 0, 0]]))
        let b = h.send(inferBody([[2, 0, 0, 0]]))
        // Both computing at once: each of the two workers holds one of the two cores.
        model.waitUntilBlocked()
        model.waitUntilBlocked()
        #expect(cores.available == 0)
        model.release()
        model.release()
        #expect(a.wait().status == 200 && b.wait().status == 200)
        #expect(cores.available == 2)
    }

    @Test func aModelOverEveryCoreRunsOneExecutionAtATime() {
        let model = GatedRecordingModel(blockedCalls: 1)
        let h = SchedulerHarness(model: Threaded(inner: model, intraOpThreads: 2),
                                 settings: SchedulerSettings(maxBatchSize: 1), executions: 2)
        let a = h.send(inferBody([[1, 0, 0, 0]]))
        model.waitUntilBlocked()
        #expect(h.executor.cores.available == 0)  // one execution holds both cores
        let b = h.send(inferBody([[2, 0, 0, 0]]))
        h.waitUntilQueued(1)  // no second worker takes it
        #expect(model.recordedBatches == [1])
        model.release()
        #expect(a.wait().status == 200 && b.wait().status == 200)
        #expect(model.recordedBatches == [1, 1])
    }

    @Test func replicasServeConcurrentCallsEachOnItsOwnInstance() throws {
        let first = GatedRecordingModel(blockedCalls: 1)
        let second = GatedRecordingModel(blockedCalls: 1)
        let replicated = ReplicatedModel(replicas: [first, second])
        let input = Tensor(shape: [1, 1, 2, 2], data: [1, 0, 0, 0])
        let done = DispatchGroup()
        for _ in 0..<2 {
            DispatchQueue.global().async(group: done) { _ = try? replicated.infer([input], options: RunOptions()) }
        }
        // Each instance has one call in progress at the same time.
        first.waitUntilBlocked()
        second.waitUntilBlocked()
        first.release()
        second.release()
        #expect(done.wait(timeout: .now() + 30) == .success)
        // A third call takes whichever instance is idle and still answers.
        let outcome = try replicated.infer([input], options: RunOptions())
        #expect(outcome.outputs[0].data == (try TestModel().infer([input], options: RunOptions())).outputs[0].data)
        #expect(first.recordedBatches.count + second.recordedBatches.count == 3)
    }
}
