import Foundation
import Testing
@testable import DyNN

@Suite struct BatchNormFoldingTests {
    /// `x -> <conv node> -> bn -> relu`, synthetic weights.
    static func spec(conv: NodeSpec, extra: [NodeSpec] = [], output: String = "relu", outputShape: [Int] = [-1, 6, 5, 5]) -> ModelSpec {
        ModelSpec(name: "fold", inputs: [TensorSpec(name: "x", shape: [-1, 4, 5, 5])],
                  outputs: [TensorSpec(name: "out", shape: outputShape, node: output)], weights: .synthetic(seed: 5),
                  nodes: [conv, NodeSpec(name: "bn", op: "batch_norm", inputs: ["conv"], attrs: ["eps": .number(1e-3)]),
                          NodeSpec(name: "relu", op: "relu", inputs: ["bn"])] + extra)
    }

    static let conv = NodeSpec(name: "conv", op: "conv2d", inputs: ["x"], attrs: ["out_channels": .int(6), "kernel_size": .int(3), "padding": .int(1)])

    static func dynamic(_ routing: String) -> NodeSpec {
        NodeSpec(name: "conv", op: "dynamic_conv2d", inputs: ["x"],
                 attrs: ["out_channels": .int(6), "kernel_size": .int(3), "padding": .int(1), "experts": .int(3), "routing": .string(routing)])
    }

    /// Loads folded and unfolded and compares outputs on a batch of 3 (each sample routes differently).
    static func compare(_ spec: ModelSpec) throws -> (folded: Model, unfolded: Model) {
        let directory = FileManager.default.temporaryDirectory
        let folded = try Model.load(spec: spec, directory: directory)
        let unfolded = try Model.load(spec: spec, directory: directory, foldBatchNorm: false)
        let input = Tensor(shape: [3, 4, 5, 5], data: (0..<300).map { sin(Float($0) * 0.37) * 2 })
        let a = try folded.run([input]).outputs[0], b = try unfolded.run([input]).outputs[0]
        let scale = max(1, b.data.map(abs).max() ?? 0)
        for (x, y) in zip(a.data, b.data) { #expect(abs(x - y) <= 1e-5 * scale) }
        #expect(a.shape == b.shape)
        return (folded, unfolded)
    }

    @Test func foldsIntoConv2d() throws {
        let (folded, unfolded) = try Self.compare(Self.spec(conv: Self.conv))
        #expect(folded.nodes.map(\.name) == ["conv", "relu"])
        #expect(folded.nodes[1].inputs == [.node(0)])
        #expect(unfolded.nodes.map(\.name) == ["conv", "bn", "relu"])
    }

    @Test func foldsIntoSoftmaxDynamicConv() throws {
        let (folded, _) = try Self.compare(Self.spec(conv: Self.dynamic("softmax")))
        #expect(folded.nodes.map(\.name) == ["conv", "relu"])
    }

    @Test func keepsBatchNormAfterSigmoidRouting() throws {
        let (folded, _) = try Self.compare(Self.spec(conv: Self.dynamic("sigmoid")))
        #expect(folded.nodes.map(\.name) == ["conv", "bn", "relu"])
    }

    @Test func keepsBatchNormWhenTheConvFeedsAnotherNode() throws {
        let spec = Self.spec(conv: Self.conv, extra: [NodeSpec(name: "sum", op: "add", inputs: ["relu", "conv"])], output: "sum")
        let (folded, _) = try Self.compare(spec)
        #expect(folded.nodes.map(\.name) == ["conv", "bn", "relu", "sum"])
    }

    @Test func anOutputNamingTheBatchNormReadsTheConv() throws {
        let (folded, _) = try Self.compare(Self.spec(conv: Self.conv, output: "bn"))
        #expect(folded.nodes.map(\.name) == ["conv", "relu"])
        #expect(folded.outputRefs == [.node(0)])
    }
}
