import Dispatch
import DyNN
import Foundation
import Testing
@testable import DyServe

/// The small-model lane: a one-thread model under `ComputeBudget.smallModelMaxMultiplyAdds` answers
/// while a large model holds every shared core; a large one-thread model still waits for them.
@Suite struct SmallModelLaneTests {
    /// `base` answering as a model of `multiplyAdds` per sample.
    private struct Sized: ServableModel {
        var base: any ServableModel
        var multiplyAdds: Int
        var info: ServedModelInfo {
            var info = base.info
            info.multiplyAdds = multiplyAdds
            return info
        }
        func infer(_ inputs: [Tensor], options: RunOptions) throws -> InferenceOutcome {
            try base.infer(inputs, options: options)
        }
    }

    @Test func budgetSaysWhichModelsAreSmall() {
        let budget = ComputeBudget(cores: 2, intraOpThreads: 0, backend: .fast)
        #expect(budget.runsInSmallModelLane(multiplyAdds: 300_000, threads: 1))
        #expect(!budget.runsInSmallModelLane(multiplyAdds: 300_000, threads: 2))
        #expect(!budget.runsInSmallModelLane(multiplyAdds: ComputeBudget.smallModelMaxMultiplyAdds, threads: 1))
        // Unknown cost (0) is not assumed small.
        #expect(!budget.runsInSmallModelLane(multiplyAdds: 0, threads: 1))
    }

    /// Submits one sample of `model` and waits up to 30 s for the answer; true if it succeeded in time.
    private func answered(_ executor: SchedulingExecutor, _ name: String, _ model: any ServableModel) -> Bool {
        let done = DispatchSemaphore(value: 0)
        let succeeded = Collected()
        let job = InferenceJob(modelName: name, model: model, input: Tensor(shape: [1, 1, 2, 2], data: [1, 0, 0, 0]),
                               options: RunOptions())
        executor.submit(job) { completion in
            if case .success = completion.result { succeeded.append(1) }
            done.signal()
        }
        return done.wait(timeout: .now() + 30) == .success && succeeded.values.count == 1
    }

    @Test func smallModelAnswersWhileALargeOneHoldsEveryCore() {
        let gated = GatedRecordingModel()
        let large = Sized(base: gated, multiplyAdds: 300_000_000)
        let executor = SchedulingExecutor(settings: SchedulerSettings(maxBatchSize: 1),
                                          budget: ComputeBudget(cores: 1, intraOpThreads: 1), sweepInterval: nil)
        let job = InferenceJob(modelName: "large", model: large, input: Tensor(shape: [1, 1, 2, 2], data: [0, 0, 0, 0]),
                               options: RunOptions())
        executor.submit(job) { _ in }
        gated.waitUntilBlocked()  // the large model now holds the only core
        #expect(answered(executor, "small", Sized(base: TestModel(), multiplyAdds: 300_000)))
        gated.release()
        executor.shutdown()
    }

    @Test func largeOneThreadModelStillWaitsForTheSharedCores() {
        let gated = GatedRecordingModel()
        let executor = SchedulingExecutor(settings: SchedulerSettings(maxBatchSize: 1),
                                          budget: ComputeBudget(cores: 1, intraOpThreads: 1), sweepInterval: nil)
        let job = InferenceJob(modelName: "first", model: Sized(base: gated, multiplyAdds: 300_000_000),
                               input: Tensor(shape: [1, 1, 2, 2], data: [0, 0, 0, 0]), options: RunOptions())
        executor.submit(job) { _ in }
        gated.waitUntilBlocked()
        let second = DispatchSemaphore(value: 0)
        let other = InferenceJob(modelName: "second", model: Sized(base: TestModel(), multiplyAdds: 50_000_000),
                                 input: Tensor(shape: [1, 1, 2, 2], data: [0, 0, 0, 0]), options: RunOptions())
        executor.submit(other) { _ in second.signal() }
        // Not answered while the first holds the core...
        #expect(second.wait(timeout: .now() + 0.3) == .timedOut)
        gated.release()
        // ...and answered once it lets go.
        #expect(second.wait(timeout: .now() + 30) == .success)
        executor.shutdown()
    }
}
