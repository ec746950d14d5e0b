import Foundation
import Testing
@testable import DyNN

/// Loading and running the format additions of the exporter (issue 12): `expert_routing` shared by
/// 2-input `dynamic_conv2d` nodes, `silu`, `hard_sigmoid`, `mul`, and `dy_relu` without intercepts.
@Suite struct ExternalRoutingModelTests {
    /// A CondConv-like block: one routing shared by two convolutions, a batch norm after each (not
    /// folded), silu, a squeeze-excitation multiply.
    static func blockNodes() -> [NodeSpec] {
        let conv: [String: JSONValue] = ["out_channels": .int(4), "kernel_size": .int(3), "padding": .int(1), "experts": .int(3)]
        return [
            NodeSpec(name: "route", op: "expert_routing", inputs: ["x"], attrs: ["experts": .int(3), "routing": .string("sigmoid")]),
            NodeSpec(name: "conv_a", op: "dynamic_conv2d", inputs: ["x", "route"], attrs: conv),
            NodeSpec(name: "bn_a", op: "batch_norm", inputs: ["conv_a"]),
            NodeSpec(name: "act_a", op: "silu", inputs: ["bn_a"]),
            NodeSpec(name: "conv_b", op: "dynamic_conv2d", inputs: ["act_a", "route"], attrs: conv),
            NodeSpec(name: "bn_b", op: "batch_norm", inputs: ["conv_b"]),
            NodeSpec(name: "gap", op: "global_avg_pool", inputs: ["bn_b"]),
            NodeSpec(name: "gate", op: "hard_sigmoid", inputs: ["gap"]),
            NodeSpec(name: "y", op: "mul", inputs: ["gate", "bn_b"]),
        ]
    }

    static func spec(_ nodes: [NodeSpec] = blockNodes(), output: String = "y", outputShape: [Int] = [-1, 4, 5, 5]) -> ModelSpec {
        ModelSpec(name: "routed", inputs: [TensorSpec(name: "x", shape: [-1, 4, 5, 5])],
                  outputs: [TensorSpec(name: "out", shape: outputShape, node: output)], weights: .synthetic(seed: 3),
                  nodes: nodes)
    }

    static func load(_ spec: ModelSpec) throws -> Model {
        try Model.load(spec: spec, directory: FileManager.default.temporaryDirectory)
    }

    func loadError(_ spec: ModelSpec) -> ModelError? {
        modelError { try Self.load(spec) }
    }

    /// `blockNodes()` with node `name` changed by `edit`.
    func editing(_ name: String, _ edit: (inout NodeSpec) -> Void) -> ModelSpec {
        var nodes = Self.blockNodes()
        let index = nodes.firstIndex { $0.name == name }!
        edit(&nodes[index])
        return Self.spec(nodes)
    }

    @Test func loadsWithoutFoldingTheBatchNormsAfterRoutedConvolutions() throws {
        let model = try Self.load(Self.spec())
        #expect(model.nodes.map(\.name) == ["route", "conv_a", "bn_a", "act_a", "conv_b", "bn_b", "gap", "gate", "y"])
        let routing = try #require(model.nodes[0].op as? ExpertRouting)
        #expect(routing.weight.shape == [3, 4] && routing.bias?.shape == [3] && routing.routing == .sigmoid)
        let conv = try #require(model.nodes[1].op as? RoutedDynamicConv2d)
        #expect(conv.experts.shape == [3, 4, 4, 3, 3] && conv.expertBias?.shape == [3, 4])
        #expect(conv.routedBy == "route")
        #expect(model.nodes[1].inputs == [.input(0), .node(0)])
        #expect(model.nodes[1].outputShape == [1, 4, 5, 5])
        #expect(model.nodes[0].outputShape == [1, 3])
        #expect(model.nodes[2].op is BatchNorm)
    }

    @Test func synthesisesTheRoutingLayerAsAFullyConnectedLayer() throws {
        let model = try Self.load(Self.spec())
        let routing = try #require(model.nodes[0].op as? ExpertRouting)
        // The first node with weights draws weight [3, 4] uniform in ±sqrt(6 / 4), then bias [3] in ±1/2.
        var generator = SplitMix64(seed: 3)
        let limit = (6.0 / 4.0).squareRoot()
        #expect(routing.weight.data == (0..<12).map { _ in generator.uniform(-limit, limit) })
        #expect(routing.bias?.data == (0..<3).map { _ in generator.uniform(-0.5, 0.5) })
        // Then conv_a's weight with fan_in 4 * 3 * 3.
        let conv = try #require(model.nodes[1].op as? RoutedDynamicConv2d)
        let convLimit = (6.0 / 36.0).squareRoot()
        #expect(conv.experts.data.prefix(5) == ArraySlice((0..<5).map { _ in generator.uniform(-convLimit, convLimit) }))
    }

    @Test func reportsTheRoutingOncePerBlockAndNamesItInEachConvolution() throws {
        let model = try Self.load(Self.spec())
        let x = ramp([2, 4, 5, 5])
        let result = try model.run([x], options: RunOptions(trace: .attention))
        #expect(result.trace.map(\.name) == ["route", "conv_a", "conv_b"])
        #expect(result.trace.map(\.op) == ["expert_routing", "dynamic_conv2d", "dynamic_conv2d"])
        let pi = try #require(result.trace[0].attention?.pi)
        #expect(pi.count == 2 && pi[0].count == 3)
        #expect(result.trace[1].routedBy == "route" && result.trace[1].attention == nil)
        #expect(result.trace[2].routedBy == "route")
        #expect(result.trace[0].routedBy == nil)
        // The routing weights are the op's own on the same input.
        let routing = try #require(model.nodes[0].op as? ExpertRouting)
        #expect(pi == [0, 1].map { n in routing.weights(pooled: GlobalAvgPool.channelMeans(of: x)[n], temperature: 1) })
        #expect(try model.run([x]).trace.isEmpty)
    }

    @Test func encodesRoutedByAsRoutedBy() throws {
        let encoded = try JSONEncoder().encode(LayerTrace(name: "conv_a", op: "dynamic_conv2d", routedBy: "route"))
        let text = try #require(String(data: encoded, encoding: .utf8))
        #expect(text.contains("\"routed_by\":\"route\""))
        #expect(try JSONDecoder().decode(LayerTrace.self, from: encoded).routedBy == "route")
        let plain = try JSONEncoder().encode(LayerTrace(name: "c", op: "dynamic_conv2d"))
        #expect(!(String(data: plain, encoding: .utf8) ?? "").contains("routed_by"))
    }

    @Test(arguments: ["routing", "temperature", "reduction", "min_hidden"])
    func rejectsAttentionAttributesOnARoutedConvolution(attribute: String) {
        let spec = editing("conv_a") { $0.attrs[attribute] = attribute == "routing" ? .string("sigmoid") : .int(2) }
        #expect(loadError(spec) == .attributeNotAllowed(
            node: "conv_a", attribute: attribute, reason: "a dynamic_conv2d with 2 inputs takes its routing weights from \"route\""))
    }

    @Test func rejectsAttentionWeightsOnARoutedConvolution() {
        let spec = editing("conv_a") { $0.weights = ["weight": "w", "fc1_weight": "f"] }
        #expect(loadError(spec) == .unknownWeightRole(node: "conv_a", op: "dynamic_conv2d with 2 inputs (external routing)",
                                                      role: "fc1_weight"))
        #expect(loadError(spec)?.description
                == "node \"conv_a\": dynamic_conv2d with 2 inputs (external routing) has no weight role \"fc1_weight\"")
    }

    @Test func rejectsExpertsThatDifferFromTheRoutingWidth() {
        let spec = editing("conv_a") { $0.attrs["experts"] = .int(4) }
        #expect(loadError(spec) == .invalidAttribute(node: "conv_a", attribute: "experts",
                                                     expected: "3 (K of routing input \"route\", [1,3])", actual: "4"))
    }

    @Test func rejectsARoutingInputThatIsNotRankTwo() {
        let spec = editing("conv_a") { $0.inputs = ["x", "x"] }
        #expect(loadError(spec) == .shape(node: "conv_a", message: "dynamic_conv2d routing input \"x\" must be [N, K], got [1,4,5,5]"))
    }

    @Test func rejectsThreeInputs() {
        let spec = editing("conv_a") { $0.inputs = ["x", "route", "route"] }
        #expect(loadError(spec) == .wrongArity(node: "conv_a", op: "dynamic_conv2d", expected: 2, actual: 3))
        let mul = editing("y") { $0.inputs = ["gate"] }
        #expect(loadError(mul) == .wrongArity(node: "y", op: "mul", expected: 2, actual: 1))
    }

    @Test func checksTheRoutingAttributes() {
        #expect(loadError(editing("route") { $0.attrs["experts"] = nil })
                == .missingAttribute(node: "route", op: "expert_routing", attribute: "experts"))
        #expect(loadError(editing("route") { $0.attrs["routing"] = nil })
                == .missingAttribute(node: "route", op: "expert_routing", attribute: "routing"))
        #expect(loadError(editing("route") { $0.attrs["routing"] = .string("argmax") })
                == .invalidAttribute(node: "route", attribute: "routing", expected: "one of \"sigmoid\", \"softmax\"", actual: "\"argmax\""))
        #expect(loadError(editing("route") { $0.attrs["temperature"] = .number(2) })
                == .attributeNotAllowed(node: "route", attribute: "temperature", reason: "sigmoid routing has no temperature"))
        let softmax = editing("route") {
            $0.attrs["routing"] = .string("softmax")
            $0.attrs["temperature"] = .int(0)
        }
        #expect(loadError(softmax) == .invalidAttribute(node: "route", attribute: "temperature", expected: "a positive number", actual: "0"))
        #expect(loadError(editing("route") { $0.attrs["reduction"] = .int(4) })
                == .unknownAttribute(node: "route", op: "expert_routing", attribute: "reduction"))
    }

    @Test func rejectsARoutingInputOfRankThree() {
        let spec = ModelSpec(name: "rank3", inputs: [TensorSpec(name: "x", shape: [-1, 4, 5])],
                             outputs: [TensorSpec(name: "out", shape: [-1, 3], node: "route")], weights: .synthetic(seed: 1),
                             nodes: [NodeSpec(name: "route", op: "expert_routing", inputs: ["x"],
                                              attrs: ["experts": .int(3), "routing": .string("sigmoid")])])
        #expect(loadError(spec) == .shape(node: "route",
                                          message: "expert_routing needs a rank-4 [N, C, H, W] or rank-2 [N, C] input, got [1,4,5]"))
    }

    @Test func softmaxRoutingTakesTheNodeThenTheModelTemperature() throws {
        var spec = Self.spec(editing("route") { $0.attrs["routing"] = .string("softmax") }.nodes)
        spec.temperature = 4
        #expect(try #require(try Self.load(spec).nodes[0].op as? ExpertRouting).temperature == 4)
        spec.nodes[0].attrs["temperature"] = .number(0.5)
        #expect(try #require(try Self.load(spec).nodes[0].op as? ExpertRouting).temperature == 0.5)
    }

    @Test func routesFromARankTwoValue() throws {
        let nodes = [
            NodeSpec(name: "gap", op: "global_avg_pool", inputs: ["x"]),
            NodeSpec(name: "flat", op: "flatten", inputs: ["gap"]),
            NodeSpec(name: "route", op: "expert_routing", inputs: ["flat"], attrs: ["experts": .int(2), "routing": .string("softmax")]),
            NodeSpec(name: "y", op: "dynamic_conv2d", inputs: ["x", "route"],
                     attrs: ["out_channels": .int(4), "kernel_size": .int(1), "experts": .int(2)]),
        ]
        let model = try Self.load(Self.spec(nodes))
        #expect(model.nodes[2].outputShape == [1, 2])
        let y = try model.run([ramp([1, 4, 5, 5])]).outputs[0]
        #expect(y.shape == [1, 4, 5, 5])
    }

    @Test func rejectsAMulWhoseShapesDoNotBroadcast() {
        let spec = editing("y") { $0.inputs = ["route", "bn_b"] }
        #expect(loadError(spec) == .shape(
            node: "y", message: "mul needs equal shapes, or [N, C, 1, 1] with [N, C, H, W] (same N and C), got [1, 3] and [1, 4, 5, 5]"))
    }

    @Test func dyReLUBiasMustBeABoolean() {
        let nodes = [NodeSpec(name: "y", op: "dy_relu", inputs: ["x"],
                              attrs: ["variant": .string("B"), "layout": .string("paper"), "squash": .string("sigmoid"),
                                      "bias": .string("no")])]
        #expect(loadError(Self.spec(nodes)) == .invalidAttribute(node: "y", attribute: "bias", expected: "true or false", actual: "\"no\""))
    }

    @Test func dyReLUWithoutBiasReadsSlopesOnly() throws {
        let nodes = [NodeSpec(name: "y", op: "dy_relu", inputs: ["x"],
                              attrs: ["variant": .string("B"), "pieces": .int(1), "layout": .string("pairs"),
                                      "squash": .string("hard_sigmoid"), "bias": .bool(false)])]
        let model = try Self.load(Self.spec(nodes))
        let op = try #require(model.nodes[0].op as? DyReLU)
        #expect(!op.learnsIntercepts)
        // fc2 outputs K * C = 4 slopes (not 2KC).
        #expect(op.hyper.fc2Weight.shape[0] == 4)
    }
}
