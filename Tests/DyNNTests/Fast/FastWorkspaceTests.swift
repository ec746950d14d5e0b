@testable import DyNN
import Testing

/// One workspace serves every plan of an engine: it is sized for the largest plan when the engine is
/// built, and passes of every batch size give the reference's results in it.
@Suite struct FastWorkspaceTests {
    private func sizes(_ buffers: [Int], kernels: Int = 0, workers: Int = 0) -> FastWorkspace.Sizes {
        FastWorkspace.Sizes(bufferFloats: buffers, kernelFloats: kernels, workerScratchpads: workers)
    }

    @Test func unionHoldsBoth() {
        let small = sizes([10, 20], kernels: 5)
        let other = sizes([15, 5, 7], workers: 2)
        #expect(small.union(other) == sizes([15, 20, 7], kernels: 5, workers: 2))
        #expect(other.union(small) == small.union(other))
    }

    /// Batch 1, then 5, then 1 and 2, all in the one workspace: each pass matches
    /// the reference. dy-mobilenetv2: its batch-5 plan runs samples side by side, each thread two of them
    /// per pass over the experts and the fifth on both threads; its batch-1 plan does not.
    @Test func oneWorkspaceServesEveryBatchSize() throws {
        let model = try Model.load(from: FastShippedModelTests.models.appendingPathComponent("dy-mobilenetv2"))
        let engine = try FastEngine(model: model, options: FastEngineOptions(threads: 2))
        let batch = SeededInput.uniform([5, 3, 224, 224], seed: 7)
        let reference = try model.run([batch]).outputs[0]
        let comparison = FastComparison(tolerance: 1e-4, context: "workspace")
        func check(_ samples: [Int]) throws {
            let input = Tensor(shape: [samples.count, 3, 224, 224],
                               data: samples.flatMap { SeededInput.sample(batch, $0).data })
            let output = try engine.run([input], options: RunOptions()).outputs[0]
            for (row, n) in samples.enumerated() {
                comparison.close(SeededInput.sample(output, row).data, SeededInput.sample(reference, n).data, "sample \(n)")
            }
        }
        try check([0])
        try check([0, 1, 2, 3, 4])
        try check([4])
        try check([1, 0])
    }
}
