@testable import DyNN
import Foundation
import Testing

/// A static squeeze-excitation block (EfficientNet-B0's early blocks: depthwise convolution + SiLU, GAP,
/// 1x1 reduce + SiLU, 1x1 expand + gate, `x * gate`, static 1x1 projection) through the fast backend
/// against the reference: at batch 1 the multiply is folded into the projection's weights
/// (`FastStep.gatedConvolution`), at larger batches it stays a pass of its own; both within 1e-4.
@Suite struct FastGatedConvolutionTests {
    static func spec(gate: String, projectKernel: Int) -> ModelSpec {
        ModelSpec(
            name: "se-block", inputs: [TensorSpec(name: "x", shape: [-1, 8, 16, 16])],
            outputs: [TensorSpec(name: "y", shape: [-1, 16, 16, 16])], weights: .synthetic(seed: 41),
            nodes: [
                NodeSpec(name: "stem", op: "conv2d", inputs: ["x"],
                         attrs: ["out_channels": .int(24), "kernel_size": .int(3), "padding": .int(1)]),
                NodeSpec(name: "dw", op: "conv2d", inputs: ["stem"],
                         attrs: ["out_channels": .int(24), "kernel_size": .int(3), "padding": .int(1), "groups": .int(24)]),
                NodeSpec(name: "dw_act", op: "silu", inputs: ["dw"]),
                NodeSpec(name: "se_pool", op: "global_avg_pool", inputs: ["dw_act"]),
                NodeSpec(name: "se_reduce", op: "conv2d", inputs: ["se_pool"], attrs: ["out_channels": .int(6), "kernel_size": .int(1)]),
                NodeSpec(name: "se_act", op: "silu", inputs: ["se_reduce"]),
                NodeSpec(name: "se_expand", op: "conv2d", inputs: ["se_act"], attrs: ["out_channels": .int(24), "kernel_size": .int(1)]),
                NodeSpec(name: "se_gate", op: gate, inputs: ["se_expand"]),
                NodeSpec(name: "se", op: "mul", inputs: ["dw_act", "se_gate"]),
                NodeSpec(name: "project", op: "conv2d", inputs: ["se"],
                         attrs: ["out_channels": .int(16), "kernel_size": .int(projectKernel), "padding": .int(projectKernel / 2)]),
                NodeSpec(name: "y", op: "relu", inputs: ["project"]),
            ])
    }

    /// The kinds of the steps one pass of `engine` on `input` runs (gated convolution, multiply, other).
    static func stepKinds(_ engine: FastEngine, input: Tensor) throws -> [String] {
        var kinds: [String] = []
        engine.injectedStepFailure = { step in
            switch step {
            case .gatedConvolution: kinds.append("gated")
            case .mul: kinds.append("mul")
            default: kinds.append("other")
            }
            return nil
        }
        defer { engine.injectedStepFailure = nil }
        _ = try engine.run([input], options: RunOptions())
        return kinds
    }

    @Test(arguments: ["sigmoid", "hard_sigmoid"], [1, 3])
    func agreesWithReference(_ gate: String, _ projectKernel: Int) throws {
        let model = try Model.load(spec: Self.spec(gate: gate, projectKernel: projectKernel),
                                   directory: FileManager.default.temporaryDirectory)
        let engine = try FastEngine(model: model, options: FastEngineOptions(threads: 2))
        #expect(engine.referenceNodes.isEmpty)
        for batch in [1, 2, 3] {
            let x = SeededInput.uniform([batch, 8, 16, 16], seed: UInt64(50 + batch))
            let kinds = try Self.stepKinds(engine, input: x)
            // The projection's weights (16 x 24 x k x k) are fewer than the gated activation (24 x 16 x 16).
            #expect(kinds.filter { $0 == "gated" }.count == (batch == 1 ? 1 : 0), "batch \(batch): \(kinds)")
            #expect(kinds.filter { $0 == "mul" }.count == (batch == 1 ? 0 : 1), "batch \(batch): \(kinds)")
            let reference = try model.run([x], options: RunOptions())
            let fast = try engine.run([x], options: RunOptions())
            FastComparison(tolerance: 1e-4, context: "\(gate) \(projectKernel)x\(projectKernel) batch \(batch)").compare(fast, reference)
        }
    }
}
