import DyNN
import Foundation
import Testing

/// The shipped models through the fast backend against the reference `Model.run`.
@Suite struct FastShippedModelTests {
    static let models = DigitsAccuracyTests.repositoryRoot.appendingPathComponent("models")

    /// dy-mobilenetv2 and mobilenetv2 on a seeded random 224x224 batch of 3: the batch and its first
    /// sample alone against the reference, fp32 experts, attention traces included.
    @Test(arguments: ["dy-mobilenetv2", "mobilenetv2"])
    func imageNetModelsAgree(_ name: String) throws {
        let model = try Model.load(from: Self.models.appendingPathComponent(name))
        let engine = try FastEngine(model: model, options: FastEngineOptions(threads: 2))
        #expect(engine.referenceNodes == ["flatten", "probabilities"],
                "\(name): only flatten and softmax may fall back to the reference ops")
        // Two samples side by side, the third alone on both threads: both batch paths are checked.
        #expect(engine.runsSampleParallel(batch: 3))
        let batch = SeededInput.uniform([3, 3, 224, 224], seed: 2020)
        let options = RunOptions(trace: .attention)
        let reference = try model.run([batch], options: options)
        let fast = try engine.run([batch], options: options)
        FastComparison(tolerance: 1e-4, context: "\(name) batch 3").compare(fast, reference)

        let first = SeededInput.sample(batch, 0)
        let single = try engine.run([first], options: options)
        let comparison = FastComparison(tolerance: 1e-4, context: "\(name) batch 1")
        comparison.close(single.outputs[0].data, SeededInput.sample(reference.outputs[0], 0).data, "probabilities")
        for (one, all) in zip(single.trace, reference.trace) {
            comparison.close(one.attention?.pi.first ?? [], all.attention?.pi.first ?? [], "\(all.name) pi")
        }
        // Same class ranking as the reference for every sample.
        #expect(fast.outputs[0].topK(5).map { $0.map(\.index) } == reference.outputs[0].topK(5).map { $0.map(\.index) })
    }

    /// dy-digits on the held-out split: fp32 experts predict exactly what the reference predicts;
    /// fp16 experts too, and the largest probability deviation is reported.
    @Test(arguments: [ExpertPrecision.fp32, .fp16])
    func digitsPredictionsUnchanged(_ precision: ExpertPrecision) throws {
        let model = try Model.load(from: Self.models.appendingPathComponent("dy-digits"))
        let engine = try FastEngine(model: model, options: FastEngineOptions(threads: 2, expertPrecision: precision))
        let inputs = try FixtureFiles.npy(FixtureFiles.root.appendingPathComponent("digits-heldout/inputs.npy"))
        let reference = try model.run([inputs], options: RunOptions(trace: .full))
        let fast = try engine.run([inputs], options: RunOptions(trace: .full))
        let tolerance: Float = precision == .fp32 ? 1e-4 : 1e-2
        let deviation = FastComparison(tolerance: tolerance, context: "dy-digits \(precision)").compare(fast, reference)
        #expect(fast.outputs[0].topK(1).map { $0[0].index } == reference.outputs[0].topK(1).map { $0[0].index })
        print("dy-digits held-out, \(precision) experts: largest probability deviation from the reference \(deviation)")
    }

    /// Concurrent callers get the same answers as serial ones (executions are serialised inside).
    @Test func concurrentRunsAgree() async throws {
        let model = try Model.load(from: Self.models.appendingPathComponent("dy-digits"))
        let engine = try FastEngine(model: model, options: FastEngineOptions(threads: 1))
        let inputs = try FixtureFiles.npy(FixtureFiles.root.appendingPathComponent("digits-heldout/inputs.npy"))
        let samples = (0..<16).map { SeededInput.sample(inputs, $0) }
        let serial = try samples.map { try engine.run([$0], options: RunOptions()).outputs[0] }
        let parallel = try await withThrowingTaskGroup(of: (Int, Tensor).self) { group in
            for (index, sample) in samples.enumerated() {
                group.addTask { (index, try engine.run([sample], options: RunOptions()).outputs[0]) }
            }
            var results = [Tensor?](repeating: nil, count: samples.count)
            for try await (index, tensor) in group { results[index] = tensor }
            return results
        }
        #expect(parallel == serial.map { Optional($0) })
    }

    @Test func negativeThreadsAreRejected() throws {
        let model = try Model.load(from: Self.models.appendingPathComponent("dy-digits"))
        #expect(throws: FastEngineError.invalidThreads(-1)) {
            try FastEngine(model: model, options: FastEngineOptions(threads: -1))
        }
    }
}
