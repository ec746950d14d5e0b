import Foundation
import Testing
@testable import DyNN

@Suite struct SyntheticWeightsTests {
    /// A graph touching every op with weights: conv, dynamic conv, batch norm, DY-ReLU-C, linear.
    static func spec(seed: UInt64) -> ModelSpec {
        ModelSpec(
            name: "synthetic", inputs: [TensorSpec(name: "x", shape: [-1, 3, 8, 8])],
            outputs: [TensorSpec(name: "y", shape: [-1, 5])], weights: .synthetic(seed: seed),
            nodes: [
                NodeSpec(name: "stem", op: "conv2d", inputs: ["x"], attrs: ["out_channels": .int(8), "kernel_size": .int(3), "stride": .int(2), "padding": .int(1)]),
                NodeSpec(name: "dy", op: "dynamic_conv2d", inputs: ["stem"], attrs: ["out_channels": .int(8), "kernel_size": .int(3), "padding": .int(1), "experts": .int(4), "routing": .string("sigmoid")]),
                NodeSpec(name: "bn", op: "batch_norm", inputs: ["dy"]),
                NodeSpec(name: "act", op: "dy_relu", inputs: ["bn"], attrs: ["variant": .string("C"), "layout": .string("paper"), "squash": .string("sigmoid")]),
                NodeSpec(name: "gap", op: "global_avg_pool", inputs: ["act"]),
                NodeSpec(name: "flat", op: "flatten", inputs: ["gap"]),
                NodeSpec(name: "y", op: "linear", inputs: ["flat"], attrs: ["out_features": .int(5)]),
            ])
    }

    static func load(seed: UInt64) throws -> Model {
        try Model.load(spec: spec(seed: seed), directory: FileManager.default.temporaryDirectory)
    }

    @Test func splitMix64MatchesTheReferenceSequence() {
        var generator = SplitMix64(seed: 0)
        #expect(generator.next() == 0xE220_A839_7B1D_CDAF)
        #expect(generator.next() == 0x6E78_9E6A_A1B9_65F4)
        #expect(generator.next() == 0x06C4_5D18_8009_454F)
    }

    @Test func sameSeedSameWeightsOtherSeedOtherWeights() throws {
        let first = try Self.load(seed: 7), again = try Self.load(seed: 7), other = try Self.load(seed: 8)
        let a = try #require(first.nodes[0].op as? Conv2d), b = try #require(again.nodes[0].op as? Conv2d)
        let c = try #require(other.nodes[0].op as? Conv2d)
        #expect(a.weight == b.weight && a.bias == b.bias)
        #expect(a.weight != c.weight)
        let linear = try #require(first.nodes.last?.op as? Linear), linearAgain = try #require(again.nodes.last?.op as? Linear)
        #expect(linear.weight == linearAgain.weight)
        let input = ramp([2, 3, 8, 8])
        #expect(try first.run([input]).outputs == again.run([input]).outputs)
    }

    @Test func drawsInNodeThenRoleOrderWithDocumentedRanges() throws {
        let model = try Self.load(seed: 11)
        let stem = try #require(model.nodes[0].op as? Conv2d)
        var generator = SplitMix64(seed: 11)
        let weightLimit = (6.0 / 27.0).squareRoot(), biasLimit = 1 / 27.0.squareRoot()
        let expectedWeight = (0..<stem.weight.count).map { _ in generator.uniform(-weightLimit, weightLimit) }
        let expectedBias = (0..<8).map { _ in generator.uniform(-biasLimit, biasLimit) }
        #expect(stem.weight.data == expectedWeight)
        #expect(stem.bias?.data == expectedBias)
        // The next node continues the same stream with its first role.
        let dynamic = try #require(model.nodes[1].op as? DynamicConv2d)
        let dynamicLimit = (6.0 / 72.0).squareRoot()
        #expect(dynamic.experts.data[0] == generator.uniform(-dynamicLimit, dynamicLimit))
        #expect(dynamic.experts.shape == [4, 8, 8, 3, 3])
        #expect(dynamic.attention.fc1Weight.shape == [4, 8])  // max(8 / 4, min_hidden 4)
        #expect(dynamic.routing == .sigmoid)
        // Batch norm after a sigmoid-routed dynamic convolution stays a node, with statistics in range.
        let norm = try #require(model.nodes[2].op as? BatchNorm)
        #expect(norm.gamma.data.allSatisfy { (0.5..<1.5).contains($0) })
        #expect(norm.beta.data.allSatisfy { (-0.1..<0.1).contains($0) })
        #expect(norm.mean.data.allSatisfy { (-0.1..<0.1).contains($0) })
        #expect(norm.variance.data.allSatisfy { (0.5..<1.5).contains($0) })
        let act = try #require(model.nodes[3].op as? DyReLU)
        #expect(act.hyper.fc2Weight.shape == [2 * 2 * 8, 4])
        #expect(act.spatial?.weight.shape == [8])
        #expect(dynamic.experts.data.allSatisfy { abs(Double($0)) <= dynamicLimit })
    }

    @Test func listedRolesLimitOptionalTensors() throws {
        var spec = Self.spec(seed: 3)
        spec.nodes[0].weights = ["weight": "ignored.name"]
        let model = try Model.load(spec: spec, directory: FileManager.default.temporaryDirectory)
        let stem = try #require(model.nodes[0].op as? Conv2d)
        #expect(stem.bias == nil)
        // Without the bias draw, the next node starts right after the stem's weight.
        var generator = SplitMix64(seed: 3)
        let weightLimit = (6.0 / 27.0).squareRoot()
        for _ in 0..<stem.weight.count { _ = generator.uniform(-weightLimit, weightLimit) }
        let dynamic = try #require(model.nodes[1].op as? DynamicConv2d)
        #expect(dynamic.experts.data[0] == generator.uniform(-(6.0 / 72.0).squareRoot(), (6.0 / 72.0).squareRoot()))
    }
}
