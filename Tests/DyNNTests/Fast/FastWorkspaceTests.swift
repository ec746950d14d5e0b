@testable import DyNN
import Testing

/// One workspace serves every plan of an engine: it grows to the largest plan and never shrinks, and
/// passes of every batch size give the reference's results in it.
@Suite struct FastWorkspaceTests {
    private func sizes(_ buffers: [Int], kernels: Int = 0, workers: Int = 0) -> FastWorkspace.Sizes {
        FastWorkspace.Sizes(bufferFloats: buffers, kernelFloats: kernels, workerScratchpads: workers)
    }

    @Test func unionHoldsBothAndFitsChecksEverySize() {
        let small = sizes([10, 20], kernels: 5)
        let other = sizes([15, 5, 7], workers: 2)
        let both = small.union(other)
        #expect(both == sizes([15, 20, 7], kernels: 5, workers: 2))
        #expect(small.fits(in: both) && other.fits(in: both) && both.fits(in: both))
        #expect(!both.fits(in: small))
        #expect(!sizes([10, 20, 1]).fits(in: small), "a plan with more buffers does not fit")
        #expect(!sizes([10, 20], kernels: 6).fits(in: small))
        #expect(!sizes([], workers: 1).fits(in: small))
    }

    /// Batch 1, then 5 (the workspace grows), then 1 and 2 (served by the grown one): each pass matches
    /// the reference. dy-mobilenetv2: its batch-5 plan runs samples side by side, each thread two of them
    /// per pass over the experts and the fifth on both threads; its batch-1 plan does not.
    @Test func growingWorkspaceKeepsResults() throws {
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
