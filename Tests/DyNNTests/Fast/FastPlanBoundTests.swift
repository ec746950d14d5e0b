import DyNN
import Testing

/// The fast engine plans its batch sizes when it is built and never again: whatever batches it runs,
/// its plan count (and so its memory) stays what its options set, and chunked batches still give the
/// reference's results.
@Suite struct FastPlanBoundTests {
    @Test func everyBatchFrom1To64LeavesThePlansAsBuilt() throws {
        let model = try FastFailureTests.digits()
        let engine = try FastEngine(model: model, options: FastEngineOptions(threads: 2, batchSizes: FastEngineOptions.batchSizes(upTo: 8)))
        #expect(engine.plannedBatchSizes == Array(1...8))
        #expect(engine.planCount == 8)
        for batch in 1...64 {
            let input = SeededInput.uniform([batch, 1, 8, 8], seed: UInt64(batch))
            let fast = try engine.run([input], options: RunOptions(trace: .attention))
            #expect(fast.outputs[0].shape == [batch, 10])
            if [7, 13, 64].contains(batch) {
                let reference = try model.run([input], options: RunOptions(trace: .attention))
                FastComparison(tolerance: 1e-5, context: "batch \(batch)").compare(fast, reference)
            }
        }
        #expect(engine.planCount == 8, "no batch size adds a plan")
    }

    @Test func batchesRunAsTheLargestPlannedChunks() throws {
        let engine = try FastEngine(model: try FastFailureTests.digits(),
                                    options: FastEngineOptions(threads: 1, batchSizes: FastEngineOptions.batchSizes(upTo: 64)))
        #expect(engine.plannedBatchSizes == Array(1...16) + [32, 64])
        #expect(engine.chunkSizes(batch: 16) == [16])
        #expect(engine.chunkSizes(batch: 50) == [32, 16, 2])
        #expect(engine.chunkSizes(batch: 200) == [64, 64, 64, 8])
        let only = try FastEngine(model: try FastFailureTests.digits(), options: FastEngineOptions(threads: 1, batchSizes: [4]))
        #expect(only.plannedBatchSizes == [1, 4], "1 is always planned, so every batch decomposes")
        #expect(only.chunkSizes(batch: 7) == [4, 1, 1, 1])
    }

    @Test func batchSizesBeyondSixteenArePowersOfTwoAndTheMaximum() {
        #expect(FastEngineOptions.batchSizes(upTo: 1) == [1])
        #expect(FastEngineOptions.batchSizes(upTo: 8) == Array(1...8))
        #expect(FastEngineOptions.batchSizes(upTo: 100) == Array(1...16) + [32, 64, 100])
        #expect(FastEngineOptions.batchSizes(upTo: 4096).count == 16 + 8)
    }

    @Test func invalidBatchSizesAreRefused() throws {
        let model = try FastFailureTests.digits()
        for sizes in [[], [0], [FastEngineOptions.maxPlannedBatch + 1]] {
            #expect(throws: FastEngineError.invalidBatchSizes(sizes)) {
                try FastEngine(model: model, options: FastEngineOptions(threads: 1, batchSizes: sizes))
            }
        }
    }
}
