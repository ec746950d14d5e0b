import DyNN
import Foundation
import Testing
@testable import DyServe

/// The handler over a real DyNN model: a tiny dynamic network written to a temp dir with
/// synthetic weights, so the engine's own traces and input checks go through the API.
@Suite struct DyNNModelEndpointTests {
    static let modelJSON = #"""
    {
      "format_version": 1, "name": "tiny-dy", "version": "3",
      "inputs": [{"name": "input", "datatype": "FP32", "shape": [-1, 1, 4, 4]}],
      "outputs": [{"name": "probs", "datatype": "FP32", "shape": [-1, 3]}],
      "labels": ["a", "b", "c"],
      "temperature": 2.0,
      "weights": {"synthetic": {"seed": 7}},
      "nodes": [
        {"name": "conv1", "op": "dynamic_conv2d", "inputs": ["input"],
         "attrs": {"out_channels": 4, "kernel_size": 3, "padding": 1, "experts": 3}},
        {"name": "act1", "op": "dy_relu", "inputs": ["conv1"],
         "attrs": {"variant": "C", "layout": "paper", "squash": "sigmoid"}},
        {"name": "gap", "op": "global_avg_pool", "inputs": ["act1"]},
        {"name": "flat", "op": "flatten", "inputs": ["gap"]},
        {"name": "fc", "op": "linear", "inputs": ["flat"], "attrs": {"out_features": 3}},
        {"name": "probs", "op": "softmax", "inputs": ["fc"]}
      ]
    }
    """#

    /// Writes the model to a fresh temp dir and loads it the way the serve command does.
    static func loadTinyModel() throws -> DyNNServableModel {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("dyserve-api-\(UUID())")
        let dir = root.appendingPathComponent("tiny-dy")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        try Data(modelJSON.utf8).write(to: dir.appendingPathComponent("model.json"))
        return try DyNNServableModel.load("tiny-dy", modelsDirectory: root)
    }

    static let sample = "[[[[0.1, 0.2, 0.3, 0.4], [0.5, 0.6, 0.7, 0.8], [0.9, 1.0, 1.1, 1.2], [1.3, 1.4, 1.5, 1.6]]]]"

    @Test func infoComesFromTheSpecAndSummary() throws {
        let model = try Self.loadTinyModel()
        #expect(model.info.name == "tiny-dy" && model.info.version == "3")
        #expect(model.info.inputs == [ServedTensorSpec(name: "input", shape: [-1, 1, 4, 4])])
        #expect(model.info.labels == ["a", "b", "c"])
        #expect(model.info.temperature == 2)
        #expect(model.info.parameters == model.model.summary().totalParams && model.info.parameters > 0)
        #expect(model.info.multiplyAdds > 0)
    }

    @Test func inferenceMatchesTheEngineAndRecordsItsTrace() throws {
        let model = try Self.loadTinyModel()
        let api = APIHarness(models: ["tiny": model])
        let r = api.post(#"{"model": "tiny", "input": \#(Self.sample), "trace": "full", "return_trace": true, "temperature": 5}"#)
        #expect(r.status == 200, "\(r.text)")
        let input = Tensor(shape: [1, 1, 4, 4], data: (1...16).map { Float($0) / 10 })
        let direct = try model.engine.run([input], options: RunOptions(temperature: 5, trace: .full))
        let data = try #require((r.json["outputs"] as? [[String: Any]])?.first?["data"] as? [Double])
        #expect(data.map(Float.init) == direct.outputs[0].data)
        let trace = try #require(r.json["trace"] as? [String: Any])
        #expect(trace["model_temperature"] as? Double == 2)
        let layers = try #require(trace["layers"] as? [[String: Any]])
        #expect(layers.map { $0["name"] as? String } == direct.trace.map(\.name))
        let conv = try #require(layers.first { $0["name"] as? String == "conv1" })
        let pi = try #require((conv["attention"] as? [String: Any])?["pi"] as? [[Double]])
        #expect(pi.count == 1 && pi[0].count == 3)
        #expect(abs(pi[0].reduce(0, +) - 1) < 1e-5)
        #expect((conv["attention"] as? [String: Any])?["temperature"] as? Double == 5)
        let act = try #require(layers.first { $0["name"] as? String == "act1" })
        let activation = try #require(act["activation"] as? [String: Any])
        #expect(activation["variant"] as? String == "C")
        #expect((activation["spatial"] as? [[Double]])?.first?.count == 16)
        let top = try #require((r.json["top_k"] as? [[[String: Any]]])?.first?.first)
        #expect(["a", "b", "c"].contains(top["label"] as? String ?? ""))
    }

    @Test func engineInputChecksBecome400s() throws {
        let api = APIHarness(models: ["tiny": try Self.loadTinyModel()])
        let r = api.post(#"{"model": "tiny", "input": [[[0.1, 0.2, 0.3, 0.4]]]}"#)
        #expect(r.status == 400)
        #expect(r.errorMessage == "input shape [1,1,4] does not match [-1,1,4,4]")
        #expect(api.get("/readyz").status == 200)
    }
}

/// The shipped dy-digits model through the whole handler: the 450 held-out digits as one `.npy`
/// batch must come back with exactly the predictions the PyTorch reference recorded.
@Suite struct ShippedDigitsEndpointTests {
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let heldout = root.appendingPathComponent("Tests/DyNNTests/Fixtures/digits-heldout")

    struct Expected: Decodable {
        var correct: Int
        var count: Int
        var predictions: [Int]
    }

    @Test func heldOutDigitsAsOneNpyBatch() throws {
        let model = try DyNNServableModel.load("dy-digits", modelsDirectory: Self.root.appendingPathComponent("models"))
        let api = APIHarness(models: ["dy-digits": model], limits: APILimits(defaultTopK: 1))
        // The real .npy reader (the harness injects a stand-in).
        var context = api.context
        context.readNpy = { try Npy.read($0) }
        let handler = APIHandler(context: context)
        let body = try [UInt8](Data(contentsOf: Self.heldout.appendingPathComponent("inputs.npy")))
        let expected = try JSONDecoder().decode(Expected.self, from: Data(contentsOf: Self.heldout.appendingPathComponent("expected.json")))

        let box = ResponseBox()
        handler.handle(HTTPRequest(method: "POST", path: "/infer", query: ["model": "dy-digits"],
                                   headers: ["content-type": "application/x-npy"], body: body)) { box.put($0) }
        let r = box.wait()
        #expect(r.status == 200, "\(r.text.prefix(300))")
        let topK = try #require(r.json["top_k"] as? [[[String: Any]]])
        #expect(topK.count == expected.count)
        let predicted = topK.map { $0.first?["index"] as? Int ?? -1 }
        #expect(predicted == expected.predictions)
        #expect(topK.first?.first?["label"] as? String == String(expected.predictions[0]))
        let outputs = try #require(r.json["outputs"] as? [[String: Any]])
        #expect(outputs.first?["shape"] as? [Int] == [expected.count, 10])

        // Its trace: one pi row per sample for every dynamic convolution.
        let id = try #require(r.header("X-Request-Id"))
        let trace = api.get("/attention", query: ["id": id])
        let layers = try #require(trace.json["layers"] as? [[String: Any]])
        #expect(!layers.isEmpty)
        for layer in layers where layer["type"] as? String == "dynamic_conv2d" {
            #expect(((layer["attention"] as? [String: Any])?["pi"] as? [[Double]])?.count == expected.count)
        }
    }
}
