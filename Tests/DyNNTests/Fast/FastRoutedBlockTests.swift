@testable import DyNN
import Foundation
import Testing

/// A CondConv-style block through the fast backend against the reference: one `expert_routing` shared
/// by three 2-input dynamic convolutions, a batch norm after each, SiLU, a squeeze-excitation
/// (GAP -> 1x1 conv -> SiLU -> 1x1 conv -> gate -> mul) and a residual add; synthetic weights, with
/// expert biases or without (then the folded batch norms' shifts are the only biases).
@Suite struct FastRoutedBlockTests {
    /// The block's sizes: channels in and out, expanded channels, height = width, depthwise kernel, experts.
    struct Block: Sendable {
        var channels = 16, expanded = 32, size = 10, kernel = 3, experts = 3
        /// A stage-5 block of EfficientNet-B0-CondConv (efficientnet_cc_b0_4e) at 224x224.
        static let efficientNetStage5 = Block(channels: 80, expanded: 480, size: 14, kernel: 5, experts: 4)
    }

    static func spec(routing: String, gate: String, expertBias: Bool = true, block b: Block = Block()) -> ModelSpec {
        func conv(_ name: String, _ input: String, out: Int, kernel: Int, groups: Int = 1) -> NodeSpec {
            NodeSpec(name: name, op: "dynamic_conv2d", inputs: [input, "route"],
                     attrs: ["out_channels": .int(out), "kernel_size": .int(kernel), "padding": .int(kernel / 2),
                             "groups": .int(groups), "experts": .int(b.experts)],
                     weights: expertBias ? [:] : ["weight": "\(name).weight"])
        }
        var routingAttrs: [String: JSONValue] = ["experts": .int(b.experts), "routing": .string(routing)]
        if routing == "softmax" { routingAttrs["temperature"] = .number(2) }
        return ModelSpec(
            name: "routed-block", inputs: [TensorSpec(name: "x", shape: [-1, 8, b.size, b.size])],
            outputs: [TensorSpec(name: "y", shape: [-1, b.channels, b.size, b.size])], weights: .synthetic(seed: 14),
            nodes: [
                NodeSpec(name: "stem", op: "conv2d", inputs: ["x"],
                         attrs: ["out_channels": .int(b.channels), "kernel_size": .int(3), "padding": .int(1)]),
                NodeSpec(name: "route", op: "expert_routing", inputs: ["stem"], attrs: routingAttrs),
                conv("expand", "stem", out: b.expanded, kernel: 1),
                NodeSpec(name: "expand_bn", op: "batch_norm", inputs: ["expand"]),
                NodeSpec(name: "expand_act", op: "silu", inputs: ["expand_bn"]),
                conv("depthwise", "expand_act", out: b.expanded, kernel: b.kernel, groups: b.expanded),
                NodeSpec(name: "depthwise_bn", op: "batch_norm", inputs: ["depthwise"]),
                NodeSpec(name: "depthwise_act", op: "silu", inputs: ["depthwise_bn"]),
                NodeSpec(name: "se_pool", op: "global_avg_pool", inputs: ["depthwise_act"]),
                NodeSpec(name: "se_reduce", op: "conv2d", inputs: ["se_pool"], attrs: ["out_channels": .int(max(b.channels / 4, 1)), "kernel_size": .int(1)]),
                NodeSpec(name: "se_act", op: "silu", inputs: ["se_reduce"]),
                NodeSpec(name: "se_expand", op: "conv2d", inputs: ["se_act"], attrs: ["out_channels": .int(b.expanded), "kernel_size": .int(1)]),
                NodeSpec(name: "se_gate", op: gate, inputs: ["se_expand"]),
                NodeSpec(name: "se", op: "mul", inputs: ["depthwise_act", "se_gate"]),
                conv("project", "se", out: b.channels, kernel: 1),
                NodeSpec(name: "project_bn", op: "batch_norm", inputs: ["project"]),
                NodeSpec(name: "y", op: "add", inputs: ["project_bn", "stem"]),
            ])
    }

    @Test(arguments: [("sigmoid", "sigmoid", true), ("softmax", "hard_sigmoid", false)], AggregationMethod.allCases)
    func agreesWithReference(_ kinds: (routing: String, gate: String, expertBias: Bool), _ aggregation: AggregationMethod) throws {
        let model = try Model.load(spec: Self.spec(routing: kinds.routing, gate: kinds.gate, expertBias: kinds.expertBias),
                                   directory: FileManager.default.temporaryDirectory)
        let engine = try FastEngine(model: model, options: FastEngineOptions(threads: 2, aggregation: aggregation))
        // Every node has a fast step: routing on NHWC, the three convolutions with their batch norms
        // folded (and the SiLU after two of them fused), the channel-broadcast multiply.
        #expect(engine.referenceNodes.isEmpty)
        let folded = engine.kinds.enumerated().compactMap { index, kind -> String? in
            if case .foldedBatchNorm = kind { return model.nodes[index].name }
            return nil
        }
        #expect(folded == ["expand_bn", "depthwise_bn", "project_bn"])
        // Batch 3 runs two samples side by side and the third alone.
        for batch in [1, 2, 3] {
            let x = SeededInput.uniform([batch, 8, 10, 10], seed: UInt64(30 + batch))
            for options in [RunOptions(trace: .attention), RunOptions(temperature: 0.5, trace: .full), RunOptions()] {
                let reference = try model.run([x], options: options)
                let fast = try engine.run([x], options: options)
                FastComparison(tolerance: 1e-4, context: "\(kinds) \(aggregation) batch \(batch)").compare(fast, reference)
            }
        }
        let traced = try engine.run([SeededInput.uniform([1, 8, 10, 10], seed: 3)], options: RunOptions(trace: .attention))
        #expect(traced.trace.map(\.name) == ["route", "expand", "depthwise", "project"])
        #expect(traced.trace.dropFirst().allSatisfy { $0.routedBy == "route" })
    }

    /// Without a batch norm after it, a routed convolution takes the activation as its post-op; a batch
    /// norm after a convolution whose value another node reads too stays a node of its own. fp16 experts
    /// stay close.
    @Test(arguments: [ExpertPrecision.fp32, .fp16])
    func unfoldedRoutedConvolutions(_ precision: ExpertPrecision) throws {
        let conv: [String: JSONValue] = ["out_channels": .int(8), "kernel_size": .int(3), "padding": .int(1), "experts": .int(4)]
        let spec = ModelSpec(
            name: "routed", inputs: [TensorSpec(name: "x", shape: [-1, 6, 7, 7])],
            outputs: [TensorSpec(name: "y", shape: [-1, 8, 7, 7]), TensorSpec(name: "z", shape: [-1, 8, 7, 7])],
            weights: .synthetic(seed: 5),
            nodes: [
                NodeSpec(name: "route", op: "expert_routing", inputs: ["x"], attrs: ["experts": .int(4), "routing": .string("sigmoid")]),
                NodeSpec(name: "a", op: "dynamic_conv2d", inputs: ["x", "route"], attrs: conv),
                NodeSpec(name: "a_act", op: "relu6", inputs: ["a"]),
                NodeSpec(name: "b", op: "dynamic_conv2d", inputs: ["a_act", "route"], attrs: conv),
                NodeSpec(name: "y", op: "batch_norm", inputs: ["b"]),
                NodeSpec(name: "z", op: "mul", inputs: ["y", "b"]),
            ])
        let model = try Model.load(spec: spec, directory: FileManager.default.temporaryDirectory)
        let engine = try FastEngine(model: model, options: FastEngineOptions(threads: 2, expertPrecision: precision))
        #expect(engine.referenceNodes == ["y"])
        if case .fusedActivation = engine.kinds[2] {} else { Issue.record("a_act should be fused into a") }
        for batch in [1, 2] {
            let x = SeededInput.uniform([batch, 6, 7, 7], seed: UInt64(50 + batch))
            let options = RunOptions(trace: .attention)
            let tolerance: Float = precision == .fp32 ? 1e-4 : 2e-2
            FastComparison(tolerance: tolerance, context: "unfolded \(precision) batch \(batch)")
                .compare(try engine.run([x], options: options), try model.run([x], options: options))
        }
    }

    /// At the size of a real CondConv stage (EfficientNet-B0's stage 5 at 224x224), sigmoid routing as
    /// timm's, batch 1 and 2: oneDNN picks other implementations at these sizes than in the tiny block.
    @Test func agreesAtEfficientNetSize() throws {
        let block = Block.efficientNetStage5
        let model = try Model.load(spec: Self.spec(routing: "sigmoid", gate: "sigmoid", block: block),
                                   directory: FileManager.default.temporaryDirectory)
        let engine = try FastEngine(model: model, options: FastEngineOptions(threads: 2))
        #expect(engine.referenceNodes.isEmpty)
        for batch in [1, 2] {
            let x = SeededInput.uniform([batch, 8, block.size, block.size], seed: UInt64(70 + batch))
            let options = RunOptions(trace: .attention)
            FastComparison(tolerance: 1e-4, context: "stage 5 batch \(batch)")
                .compare(try engine.run([x], options: options), try model.run([x], options: options))
        }
    }
}
