@testable import DyNN
import Foundation
import Testing

/// A CondConv block's squeeze-excitation gate folded into its dynamic projection's aggregation
/// (`FastStep.gatedDynamicConvolution`) at the sizes of EfficientNet-B0-CondConv's stages 5 and 6
/// (blocks 4 and 5 of timm's `efficientnet_cc_b0_4e` at 224x224), against the reference: at batch 1
/// with the vector-loop aggregation the multiply disappears, at batch 2 and with the matmul
/// aggregation it stays a pass of its own; all within 1e-4 of scale (fp16 experts: their own rounding).
/// The same blocks run the pixel-split pooling of the global average pools and the routing, and the
/// squeeze-excitation's reduce as a matrix-vector product (`FastStep.pointwiseConvolution`).
@Suite struct FastGatedDynamicConvolutionTests {
    typealias Block = FastRoutedBlockTests.Block

    /// Stage 5 (80 -> 480 -> 80 at 14x14) and stage 6's first block's width at 14x14 (112 -> 672 -> 112),
    /// whose routing pools 21,952 values (large enough to split) and whose projection has 75,264 weights.
    static let blocks = [Block.efficientNetStage5, Block(channels: 112, expanded: 672, size: 14, kernel: 5, experts: 4)]

    /// How many gated dynamic convolutions, multiplies and pointwise (matrix-vector) convolutions one pass runs.
    static func counts(_ engine: FastEngine, input: Tensor) throws -> (gated: Int, mul: Int, pointwise: Int) {
        var counts = (gated: 0, mul: 0, pointwise: 0)
        engine.injectedStepFailure = { step in
            switch step {
            case .gatedDynamicConvolution: counts.gated += 1
            case .mul: counts.mul += 1
            case .pointwiseConvolution: counts.pointwise += 1
            default: break
            }
            return nil
        }
        defer { engine.injectedStepFailure = nil }
        _ = try engine.run([input], options: RunOptions())
        return counts
    }

    @Test(arguments: [0, 1], [AggregationMethod.vectorLoop, .matmul])
    func agreesWithReference(_ blockIndex: Int, _ aggregation: AggregationMethod) throws {
        let block = Self.blocks[blockIndex]
        let model = try Model.load(spec: FastRoutedBlockTests.spec(routing: "sigmoid", gate: "sigmoid", block: block),
                                   directory: FileManager.default.temporaryDirectory)
        let engine = try FastEngine(model: model, options: FastEngineOptions(threads: 2, aggregation: aggregation))
        #expect(engine.referenceNodes.isEmpty)
        for batch in [1, 2] {
            let x = SeededInput.uniform([batch, 8, block.size, block.size], seed: UInt64(90 + batch))
            let counts = try Self.counts(engine, input: x)
            let folds = batch == 1 && aggregation == .vectorLoop
            #expect(counts.gated == (folds ? 1 : 0) && counts.mul == (folds ? 0 : 1), "batch \(batch): \(counts)")
            // The squeeze-excitation's reduce on its pooled 1x1 input (its expand, 480 or 672 short rows, stays oneDNN's).
            #expect(counts.pointwise == 1, "batch \(batch): \(counts)")
            let options = RunOptions(trace: .attention)
            FastComparison(tolerance: 1e-4, context: "\(block.expanded) \(aggregation) batch \(batch)")
                .compare(try engine.run([x], options: options), try model.run([x], options: options))
        }
    }

    /// fp16 experts fold the gate too (the half-precision aggregation kernel), within fp16's rounding.
    @Test func fp16ExpertsFoldTheGate() throws {
        let block = Block.efficientNetStage5
        let model = try Model.load(spec: FastRoutedBlockTests.spec(routing: "sigmoid", gate: "sigmoid", block: block),
                                   directory: FileManager.default.temporaryDirectory)
        let engine = try FastEngine(model: model, options: FastEngineOptions(threads: 2, expertPrecision: .fp16))
        let x = SeededInput.uniform([1, 8, block.size, block.size], seed: 95)
        let counts = try Self.counts(engine, input: x)
        #expect(counts.gated == 1 && counts.mul == 0, "\(counts)")
        FastComparison(tolerance: 2e-2, context: "fp16 batch 1").compare(try engine.run([x], options: RunOptions()),
                                                                         try model.run([x], options: RunOptions()))
    }
}
