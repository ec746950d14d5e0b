@testable import DyNN
import Foundation
import Testing

/// A CondConv-style block through the fast backend against the reference: one `expert_routing` shared
/// by three 2-input dynamic convolutions, a batch norm after each, SiLU, a squeeze-excitation
/// (GAP -> 1x1 conv -> SiLU -> 1x1 conv -> gate -> mul) and a residual add; synthetic weights.
@Suite struct FastRoutedBlockTests {
    static func spec(routing: String, gate: String) -> ModelSpec {
        func conv(_ name: String, _ input: String, out: Int, kernel: Int, groups: Int = 1) -> NodeSpec {
            NodeSpec(name: name, op: "dynamic_conv2d", inputs: [input, "route"],
                     attrs: ["out_channels": .int(out), "kernel_size": .int(kernel), "padding": .int(kernel / 2),
                             "groups": .int(groups), "experts": .int(3)])
        }
        var routingAttrs: [String: JSONValue] = ["experts": .int(3), "routing": .string(routing)]
        if routing == "softmax" { routingAttrs["temperature"] = .number(2) }
        return ModelSpec(
            name: "routed-block", inputs: [TensorSpec(name: "x", shape: [-1, 8, 10, 10])],
            outputs: [TensorSpec(name: "y", shape: [-1, 16, 10, 10])], weights: .synthetic(seed: 14),
            nodes: [
                NodeSpec(name: "stem", op: "conv2d", inputs: ["x"], attrs: ["out_channels": .int(16), "kernel_size": .int(3), "padding": .int(1)]),
                NodeSpec(name: "route", op: "expert_routing", inputs: ["stem"], attrs: routingAttrs),
                conv("expand", "stem", out: 32, kernel: 1),
                NodeSpec(name: "expand_bn", op: "batch_norm", inputs: ["expand"]),
                NodeSpec(name: "expand_act", op: "silu", inputs: ["expand_bn"]),
                conv("depthwise", "expand_act", out: 32, kernel: 3, groups: 32),
                NodeSpec(name: "depthwise_bn", op: "batch_norm", inputs: ["depthwise"]),
                NodeSpec(name: "depthwise_act", op: "silu", inputs: ["depthwise_bn"]),
                NodeSpec(name: "se_pool", op: "global_avg_pool", inputs: ["depthwise_act"]),
                NodeSpec(name: "se_reduce", op: "conv2d", inputs: ["se_pool"], attrs: ["out_channels": .int(8), "kernel_size": .int(1)]),
                NodeSpec(name: "se_act", op: "silu", inputs: ["se_reduce"]),
                NodeSpec(name: "se_expand", op: "conv2d", inputs: ["se_act"], attrs: ["out_channels": .int(32), "kernel_size": .int(1)]),
                NodeSpec(name: "se_gate", op: gate, inputs: ["se_expand"]),
                NodeSpec(name: "se", op: "mul", inputs: ["depthwise_act", "se_gate"]),
                conv("project", "se", out: 16, kernel: 1),
                NodeSpec(name: "project_bn", op: "batch_norm", inputs: ["project"]),
                NodeSpec(name: "y", op: "add", inputs: ["project_bn", "stem"]),
            ])
    }

    @Test(arguments: [("sigmoid", "sigmoid"), ("softmax", "hard_sigmoid")], AggregationMethod.allCases)
    func agreesWithReference(_ kinds: (routing: String, gate: String), _ aggregation: AggregationMethod) throws {
        let model = try Model.load(spec: Self.spec(routing: kinds.routing, gate: kinds.gate),
                                   directory: FileManager.default.temporaryDirectory)
        let engine = try FastEngine(model: model, options: FastEngineOptions(threads: 2, aggregation: aggregation))
        for batch in [1, 2] {
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
}
