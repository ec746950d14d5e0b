import Foundation
import Testing
@testable import DyNN

/// Every load-time check of docs/model-format.md "Validation", on tiny model directories.
@Suite struct ModelLoadTests {
    /// Loads `spec` with the conv weights (plus `extra`) and returns the error.
    func loadError(_ spec: ModelSpec, weights: [(name: String, tensor: Tensor)] = convWeights) -> ModelError? {
        modelError {
            let directory = try ModelDirectory()
            return try directory.load(spec: spec, weights: weights)
        }
    }

    @Test func loadsAValidModel() throws {
        let directory = try ModelDirectory()
        let model = try directory.load(spec: convSpec(), weights: convWeights)
        #expect(model.nodes.map(\.name) == ["conv"])
        #expect(model.nodes[0].inputs == [.input(0)])
        #expect(model.nodes[0].outputShape == [1, 3, 4, 4])
        #expect(model.outputRefs == [.node(0)])
        let conv = try #require(model.nodes[0].op as? Conv2d)
        #expect(conv.weight == convWeights[0].tensor)
        #expect(conv.geometry == ConvGeometry(kernelH: 3, kernelW: 3, padTop: 1, padLeft: 1, padBottom: 1, padRight: 1))
    }

    @Test func reportsMissingDirectoryAndModelFile() throws {
        let directory = try ModelDirectory()
        #expect(throws: ModelError.self) { try Model.load(from: directory.url) }
        #expect(throws: ModelError.self) { try Model.load(from: directory.url.appendingPathComponent("nope")) }
    }

    @Test func resolvesNamesAndPaths() throws {
        let models = try ModelDirectory()
        let modelURL = models.url.appendingPathComponent("dy-digits")
        try FileManager.default.createDirectory(at: modelURL, withIntermediateDirectories: true)
        try Data("{}".utf8).write(to: modelURL.appendingPathComponent("model.json"))
        #expect(try Model.resolve("dy-digits", modelsDirectory: models.url).standardizedFileURL.path == modelURL.standardizedFileURL.path)
        #expect(try Model.resolve(modelURL.path, modelsDirectory: URL(fileURLWithPath: "/nonexistent")).path.hasSuffix("dy-digits"))
        #expect(throws: ModelError.self) { try Model.resolve("other", modelsDirectory: models.url) }
        #expect(throws: ModelError.self) { try Model.resolve("..", modelsDirectory: models.url) }
        #expect(throws: ModelError.self) { try Model.resolve("", modelsDirectory: models.url) }
    }

    @Test func rejectsDuplicateNames() {
        let duplicateNode = convSpec(nodes: [NodeSpec(name: "conv", op: "relu", inputs: ["conv"])])
        #expect(loadError(duplicateNode) == .duplicateName("conv"))
        let nodeNamedLikeInput = convSpec(nodes: [NodeSpec(name: "input", op: "relu", inputs: ["conv"])])
        #expect(loadError(nodeNamedLikeInput) == .duplicateName("input"))
    }

    @Test func rejectsInputsNotDefinedBefore() {
        // A forward reference, a self reference and a two-node cycle are all "not defined before".
        let forward = convSpec(nodes: [NodeSpec(name: "a", op: "relu", inputs: ["b"]), NodeSpec(name: "b", op: "relu", inputs: ["conv"])])
        #expect(loadError(forward) == .undefinedInput(node: "a", input: "b"))
        #expect(loadError(forward)?.description == "node \"a\" uses \"b\" which is not defined before it")
        let selfLoop = convSpec(nodes: [NodeSpec(name: "a", op: "add", inputs: ["conv", "a"])])
        #expect(loadError(selfLoop) == .undefinedInput(node: "a", input: "a"))
        let typo = convSpec(nodes: [NodeSpec(name: "a", op: "relu", inputs: ["convv"])])
        #expect(loadError(typo) == .undefinedInput(node: "a", input: "convv"))
    }

    @Test func rejectsUnknownOpsAndWrongArity() {
        #expect(loadError(convSpec(nodes: [NodeSpec(name: "a", op: "gelu", inputs: ["conv"])])) == .unknownOp(node: "a", op: "gelu"))
        #expect(loadError(convSpec(nodes: [NodeSpec(name: "a", op: "add", inputs: ["conv"])]))
                == .wrongArity(node: "a", op: "add", expected: 2, actual: 1))
        #expect(loadError(convSpec(nodes: [NodeSpec(name: "a", op: "relu", inputs: ["conv", "input"])]))
                == .wrongArity(node: "a", op: "relu", expected: 1, actual: 2))
    }

    @Test func rejectsBadAttributes() {
        func withConvAttrs(_ attrs: [String: JSONValue]) -> ModelSpec {
            var spec = convSpec()
            spec.nodes[0].attrs = attrs
            return spec
        }
        #expect(loadError(withConvAttrs(["out_channels": .int(3), "kernel_size": .int(3), "padding": .int(1), "paddding": .int(1)]))
                == .unknownAttribute(node: "conv", op: "conv2d", attribute: "paddding"))
        #expect(loadError(withConvAttrs(["kernel_size": .int(3)])) == .missingAttribute(node: "conv", op: "conv2d", attribute: "out_channels"))
        #expect(loadError(withConvAttrs(["out_channels": .string("3"), "kernel_size": .int(3)]))
                == .invalidAttribute(node: "conv", attribute: "out_channels", expected: "an integer >= 1", actual: "\"3\""))
        #expect(loadError(withConvAttrs(["out_channels": .int(3), "kernel_size": .array([.int(3)])])) != nil)
        #expect(loadError(withConvAttrs(["out_channels": .int(3), "kernel_size": .int(3), "padding": .int(-1)])) != nil)
        #expect(loadError(withConvAttrs(["out_channels": .int(3), "kernel_size": .int(3), "padding": .array([.int(1), .int(1), .int(1)])])) != nil)
        #expect(loadError(withConvAttrs(["out_channels": .int(3), "kernel_size": .int(3), "stride": .int(0)])) != nil)
        #expect(loadError(withConvAttrs(["out_channels": .int(0), "kernel_size": .int(3)])) != nil)
        // Attributes of other ops are not silently accepted either.
        #expect(loadError(convSpec(nodes: [NodeSpec(name: "a", op: "relu", inputs: ["conv"], attrs: ["inplace": .bool(true)])]))
                == .unknownAttribute(node: "a", op: "relu", attribute: "inplace"))
    }

    @Test func rejectsChannelsNotDivisibleByGroups() {
        var spec = convSpec()
        spec.nodes[0].attrs["groups"] = .int(2)  // 2 input channels but 3 output channels
        guard case .shape(let node, let message)? = loadError(spec) else {
            Issue.record("expected a shape error")
            return
        }
        #expect(node == "conv")
        #expect(message.contains("groups"))
    }

    @Test func rejectsMissingAndMisshapedTensors() {
        #expect(loadError(convSpec(), weights: [convWeights[1]]) == .missingTensor(node: "conv", role: "weight", tensor: "conv.weight"))
        let wrong = ramp([3, 2, 5, 5])
        let error = loadError(convSpec(), weights: [("conv.weight", wrong), convWeights[1]])
        #expect(error == .tensorShape(node: "conv", role: "weight", tensor: "conv.weight", expected: [3, 2, 3, 3], actual: [3, 2, 5, 5]))
        #expect(error?.description == "node \"conv\": weight tensor \"conv.weight\" has shape [3,2,5,5], expected [3,2,3,3]")
        var noRole = convSpec()
        noRole.nodes[0].weights = ["bias": "conv.bias"]
        #expect(loadError(noRole) == .missingWeightRole(node: "conv", role: "weight"))
        var extraRole = convSpec()
        extraRole.nodes[0].weights["scale"] = "conv.bias"
        #expect(loadError(extraRole) == .unknownWeightRole(node: "conv", op: "conv2d", role: "scale"))
    }

    @Test func rejectsNonFiniteWeights() {
        var bias = convWeights[1].tensor
        bias.data[2] = .nan
        #expect(loadError(convSpec(), weights: [convWeights[0], ("conv.bias", bias)])
                == .nonFiniteWeight(node: "conv", role: "bias", tensor: "conv.bias", index: 2))
    }

    @Test func rejectsUnsupportedDatatypes() {
        var spec = convSpec()
        spec.inputs[0].datatype = "FP16"
        #expect(loadError(spec) == .unsupportedDatatype(tensor: "input", datatype: "FP16"))
    }

    @Test func rejectsBadBoundaryShapes() {
        var spec = convSpec()
        spec.inputs[0].shape = [2, -1, 4, 4]
        #expect(loadError(spec) != nil)
        spec.inputs[0].shape = [-1, 0, 4, 4]
        #expect(loadError(spec) != nil)
        spec.inputs[0].shape = []
        #expect(loadError(spec) != nil)
        var labels = convSpec()
        labels.labels = ["a", "b"]
        #expect(loadError(labels) != nil)
    }

    @Test func rejectsCorruptedWeightFiles() throws {
        let good = SafeTensorsWriter.encode(convWeights)
        for bytes in [Array(good.prefix(good.count - 4)), Array(good.prefix(6)), [UInt8](), Array(repeating: 0xFF, count: 64)] {
            let directory = try ModelDirectory()
            try directory.write(spec: convSpec())
            try directory.write("weights.safetensors", bytes)
            guard case .weightsFile(let path, _)? = modelError({ try Model.load(from: directory.url) }) else {
                Issue.record("expected a weights file error for \(bytes.count) bytes")
                continue
            }
            #expect(path.hasSuffix("weights.safetensors"))
        }
        let directory = try ModelDirectory()
        try directory.write(spec: convSpec())
        #expect(throws: ModelError.self) { try Model.load(from: directory.url) }  // no weights file at all
        let int64 = SafeTensorsWriter.encode(raw: [.init(name: "conv.weight", dtype: "I64", shape: [1], bytes: [UInt8](repeating: 0, count: 8))])
        try directory.write("weights.safetensors", int64)
        #expect(modelError({ try Model.load(from: directory.url) })?.description.contains("conv.weight") == true)
    }

    @Test func convertsHalfPrecisionWeights() throws {
        func encoded(_ tensor: Tensor, _ dtype: String) -> SafeTensorsWriter.RawTensor {
            var bytes: [UInt8] = []
            for value in tensor.data {
                LittleEndian.append(dtype == "F16" ? HalfPrecision.halfFromFloat(value) : HalfPrecision.bfloatFromFloat(value), to: &bytes)
            }
            return .init(name: "", dtype: dtype, shape: tensor.shape, bytes: bytes)
        }
        var weight = encoded(convWeights[0].tensor, "F16")
        weight.name = "conv.weight"
        var bias = encoded(convWeights[1].tensor, "BF16")
        bias.name = "conv.bias"
        let directory = try ModelDirectory()
        try directory.write(spec: convSpec())
        try directory.write("weights.safetensors", SafeTensorsWriter.encode(raw: [weight, bias]))
        let conv = try #require(try Model.load(from: directory.url).nodes[0].op as? Conv2d)
        for (loaded, original) in zip(conv.weight.data, convWeights[0].tensor.data) { #expect(abs(loaded - original) <= 1e-3) }
        for (loaded, original) in zip(conv.bias?.data ?? [], convWeights[1].tensor.data) { #expect(abs(loaded - original) <= 1e-2) }
    }

    @Test func rejectsImpossibleShapes() {
        // A 5x5 kernel on a 4x4 input without padding.
        var spec = convSpec()
        spec.nodes[0].attrs = ["out_channels": .int(3), "kernel_size": .int(5)]
        guard case .shape(let node, _)? = loadError(spec, weights: [("conv.weight", ramp([3, 2, 5, 5])), convWeights[1]]) else {
            Issue.record("expected a shape error")
            return
        }
        #expect(node == "conv")
        // add of two different shapes.
        let add = convSpec(nodes: [NodeSpec(name: "sum", op: "add", inputs: ["conv", "input"])], output: "sum")
        guard case .shape(let addNode, _)? = loadError(add) else {
            Issue.record("expected a shape error from add")
            return
        }
        #expect(addNode == "sum")
        // linear on a 4-D value.
        let linear = convSpec(nodes: [NodeSpec(name: "fc", op: "linear", inputs: ["conv"], attrs: ["out_features": .int(2)])], output: "fc")
        guard case .shape(let linearNode, _)? = loadError(linear) else {
            Issue.record("expected a shape error from linear")
            return
        }
        #expect(linearNode == "fc")
    }

    @Test func checksDeclaredOutputs() {
        #expect(loadError(convSpec(outputShape: [-1, 4, 4, 4])) == .outputShape(output: "out", expected: [-1, 4, 4, 4], actual: [-1, 3, 4, 4]))
        #expect(loadError(convSpec(outputShape: [-1, 48])) != nil)
        #expect(loadError(convSpec(output: "nowhere")) == .unknownOutputNode(output: "out", node: "nowhere"))
        var twice = convSpec()
        twice.outputs.append(twice.outputs[0])
        #expect(loadError(twice) == .invalidField(field: "name", context: "outputs", expected: "unique output names", actual: "\"out\" twice"))
    }

    @Test func readsHiddenSizeFromTheWeightsFile() throws {
        // fc1 has 3 rows although reduction and min_hidden would give 4: the file decides, consistently.
        let spec = ModelSpec(
            name: "dyconv", inputs: [TensorSpec(name: "x", shape: [-1, 8, 5, 5])], outputs: [TensorSpec(name: "y", shape: [-1, 4, 5, 5])],
            weights: .file("weights.safetensors"),
            nodes: [NodeSpec(name: "y", op: "dynamic_conv2d", inputs: ["x"],
                             attrs: ["out_channels": .int(4), "kernel_size": .int(3), "padding": .int(1), "experts": .int(2)],
                             weights: ["weight": "w", "fc1_weight": "f1", "fc2_weight": "f2", "fc2_bias": "b2"])])
        let good: [(name: String, tensor: Tensor)] = [("w", ramp([2, 4, 8, 3, 3])), ("f1", ramp([3, 8])), ("f2", ramp([2, 3])), ("b2", ramp([2]))]
        let directory = try ModelDirectory()
        let model = try directory.load(spec: spec, weights: good)
        let op = try #require(model.nodes[0].op as? DynamicConv2d)
        #expect(op.attention.fc1Weight.shape == [3, 8])
        #expect(op.temperature == 1)
        let disagreeing: [(name: String, tensor: Tensor)] = [good[0], good[1], ("f2", ramp([2, 4])), good[3]]
        #expect(modelError({ try ModelDirectory().load(spec: spec, weights: disagreeing) })
                == .tensorShape(node: "y", role: "fc2_weight", tensor: "f2", expected: [2, 3], actual: [2, 4]))
    }
}

/// Attribute values chosen to overflow sizes or exhaust memory are errors, not crashes.
@Suite struct HostileAttributeTests {
    static func synthetic(_ node: NodeSpec, input: [Int] = [-1, 4, 8, 8]) -> ModelSpec {
        ModelSpec(name: "hostile", inputs: [TensorSpec(name: "x", shape: input)], outputs: [TensorSpec(name: "y", shape: [-1, 1])],
                  weights: .synthetic(seed: 1), nodes: [node])
    }

    static func error(_ spec: ModelSpec) -> ModelError? {
        modelError { try Model.load(spec: spec, directory: FileManager.default.temporaryDirectory) }
    }

    @Test func hugeSizesAreRejected() {
        let hugeConv = NodeSpec(name: "y", op: "conv2d", inputs: ["x"],
                                attrs: ["out_channels": .int(1 << 24), "kernel_size": .array([.int(1 << 24), .int(1 << 24)])])
        guard case .shape(let node, let message)? = Self.error(Self.synthetic(hugeConv)) else {
            Issue.record("expected a size error")
            return
        }
        #expect(node == "y" && message.contains("too large"))
        let manyPieces = NodeSpec(name: "y", op: "dy_relu", inputs: ["x"],
                                  attrs: ["variant": .string("B"), "layout": .string("paper"), "squash": .string("sigmoid"), "pieces": .int(1 << 40)])
        #expect(Self.error(Self.synthetic(manyPieces)) == .invalidAttribute(node: "y", attribute: "pieces", expected: "an integer >= 1", actual: "1099511627776"))
        let bigNumber = NodeSpec(name: "y", op: "conv2d", inputs: ["x"], attrs: ["out_channels": .number(1e300), "kernel_size": .int(1)])
        #expect(Self.error(Self.synthetic(bigNumber)) != nil)
        #expect(Self.error(Self.synthetic(NodeSpec(name: "y", op: "relu", inputs: ["x"]), input: [-1, 1 << 40, 1 << 40])) != nil)
    }
}
