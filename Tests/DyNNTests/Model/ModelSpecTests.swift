import Testing
@testable import DyNN

@Suite struct ModelSpecTests {
    static let example = """
    {
      "format_version": 1,
      "name": "dy-digits",
      "version": "1",
      "description": "free text",
      "inputs":  [{"name": "input", "datatype": "FP32", "shape": [-1, 1, 8, 8]}],
      "outputs": [{"name": "probabilities", "datatype": "FP32", "shape": [-1, 10], "node": "probs"}],
      "labels": ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"],
      "temperature": 1.0,
      "weights": {"file": "weights.safetensors"},
      "nodes": [
        {"name": "conv1", "op": "dynamic_conv2d", "inputs": ["input"],
         "attrs": {"out_channels": 16, "kernel_size": 3, "padding": [1, 1], "experts": 4, "routing": "softmax", "temperature": 30.5},
         "weights": {"weight": "conv1.weight", "bias": "conv1.bias",
                     "fc1_weight": "conv1.fc1.weight", "fc2_weight": "conv1.fc2.weight", "fc2_bias": "conv1.fc2.bias"}}
      ]
    }
    """

    static func decode(_ json: String) throws(ModelError) -> ModelSpec {
        try ModelSpec.decode(Array(json.utf8))
    }

    /// The example with one substring replaced.
    static func example(replacing target: String, with replacement: String) -> String {
        precondition(example.contains(target), "test edits a string the example does not contain")
        return example.replacingOccurrences(of: target, with: replacement)
    }

    @Test func decodesTheDocumentedExample() throws {
        let spec = try Self.decode(Self.example)
        #expect(spec.name == "dy-digits")
        #expect(spec.version == "1")
        #expect(spec.inputs == [TensorSpec(name: "input", shape: [-1, 1, 8, 8])])
        #expect(spec.outputs[0].producer == "probs")
        #expect(spec.labels?.count == 10)
        #expect(spec.weights == .file("weights.safetensors"))
        #expect(spec.nodes[0].attrs["padding"] == .array([.int(1), .int(1)]))
        #expect(spec.nodes[0].attrs["temperature"] == .number(30.5))
        #expect(spec.nodes[0].weights["fc1_weight"] == "conv1.fc1.weight")
    }

    @Test func optionalFieldsTakeDefaults() throws {
        let json = """
        {"format_version": 1, "name": "m", "version": "2", "inputs": [{"name": "x", "datatype": "FP32", "shape": [-1, 3]}],
         "outputs": [{"name": "y", "datatype": "FP32", "shape": [-1, 3]}], "weights": {"synthetic": {"seed": 7}},
         "nodes": [{"name": "y", "op": "relu", "inputs": ["x"]}]}
        """
        let spec = try Self.decode(json)
        #expect(spec.temperature == 1)
        #expect(spec.labels == nil)
        #expect(spec.description == nil)
        #expect(spec.weights == .synthetic(seed: 7))
        #expect(spec.nodes[0].attrs.isEmpty && spec.nodes[0].weights.isEmpty)
        #expect(spec.outputs[0].producer == "y")
    }

    @Test func roundTripsThroughEncoding() throws {
        let spec = try Self.decode(Self.example)
        #expect(try ModelSpec.decode(spec.encoded()) == spec)
        let synthetic = convSpec()
        #expect(try ModelSpec.decode(synthetic.encoded()) == synthetic)
    }

    @Test func rejectsUnknownKeysAtEveryLevel() {
        #expect(throws: ModelError.unknownKey(key: "lables", context: "model.json")) {
            try Self.decode(Self.example(replacing: "\"labels\"", with: "\"lables\""))
        }
        #expect(throws: ModelError.unknownKey(key: "atrs", context: "node \"conv1\"")) {
            try Self.decode(Self.example(replacing: "\"attrs\"", with: "\"atrs\""))
        }
        #expect(throws: ModelError.unknownKey(key: "dtype", context: "tensor \"input\"")) {
            try Self.decode(Self.example(replacing: "\"name\": \"input\", \"datatype\"", with: "\"name\": \"input\", \"dtype\": 1, \"datatype\""))
        }
        #expect(throws: ModelError.unknownKey(key: "path", context: "weights")) {
            try Self.decode(Self.example(replacing: "{\"file\": \"weights.safetensors\"}", with: "{\"file\": \"w\", \"path\": \"x\"}"))
        }
        #expect(throws: ModelError.unknownKey(key: "sead", context: "weights.synthetic")) {
            try Self.decode(Self.example(replacing: "{\"file\": \"weights.safetensors\"}", with: "{\"synthetic\": {\"sead\": 1}}"))
        }
    }

    @Test func rejectsOtherFormatVersions() {
        #expect(throws: ModelError.unsupportedFormatVersion(2)) {
            try Self.decode(Self.example(replacing: "\"format_version\": 1", with: "\"format_version\": 2"))
        }
        // Checked before unknown keys: a newer file says it is newer.
        #expect(throws: ModelError.unsupportedFormatVersion(3)) {
            try Self.decode(Self.example(replacing: "\"format_version\": 1", with: "\"format_version\": 3, \"future\": true"))
        }
    }

    @Test func reportsMalformedJSONAndWrongTypes() {
        func reason(_ json: String) -> String? {
            if case .invalidJSON(_, let reason)? = modelError({ try Self.decode(json) }) { return reason }
            return nil
        }
        #expect(reason("{\"format_version\": 1,") != nil)
        #expect(reason("") != nil)
        #expect(reason("[]") != nil)
        #expect(reason(Self.example(replacing: "\"version\": \"1\"", with: "\"version\": 1"))?.contains("version") == true)
        #expect(reason(Self.example(replacing: "\"name\": \"dy-digits\",", with: ""))?.contains("name") == true)
        #expect(throws: ModelError.invalidField(field: "shape", context: "tensor \"input\"", expected: "integers", actual: "[-1, 1.5, 8, 8]")) {
            try Self.decode(Self.example(replacing: "\"shape\": [-1, 1, 8, 8]", with: "\"shape\": [-1, 1.5, 8, 8]"))
        }
        #expect(reason(Self.example(replacing: "\"inputs\":  [", with: "\"inputs\":  [1, "))?.contains("inputs[0]") == true)
    }

    @Test func rejectsWeightsOutsideTheDirectoryAndAmbiguousSources() {
        for path in ["../secret.safetensors", "/etc/passwd", "a/../../b", ""] {
            #expect(throws: ModelError.self) {
                try Self.decode(Self.example(replacing: "\"weights.safetensors\"", with: "\"\(path)\""))
            }
        }
        #expect(throws: ModelError.self) {
            try Self.decode(Self.example(replacing: "{\"file\": \"weights.safetensors\"}", with: "{\"file\": \"w\", \"synthetic\": {\"seed\": 1}}"))
        }
        #expect(throws: ModelError.self) { try Self.decode(Self.example(replacing: "{\"file\": \"weights.safetensors\"}", with: "{}")) }
        #expect(throws: ModelError.self) {
            try Self.decode(Self.example(replacing: "{\"file\": \"weights.safetensors\"}", with: "{\"synthetic\": {\"seed\": -1}}"))
        }
    }
}
