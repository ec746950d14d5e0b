import DyNN
import Foundation
import Testing

/// The shipped DY-ReLU MobileNetV2s through the fast backend against the reference `Model.run`, on their
/// logits (the classifier's output: probabilities over 1000 classes are too flat for a 1e-4 check to say
/// much) and on every DY-ReLU's coefficients and spatial map.
@Suite struct FastDyReLUModelTests {
    /// Every (channels, height, width) a DY-ReLU sees in the shipped DY-ReLU MobileNetV2s at 224x224.
    static let shippedShapes = [(32, 112, 112), (96, 112, 112), (96, 56, 56), (144, 56, 56), (144, 28, 28), (192, 28, 28),
                                (192, 14, 14), (384, 14, 14), (576, 14, 14), (576, 7, 7), (960, 7, 7), (1280, 7, 7)]

    /// One DY-ReLU of the shipped models' configuration (K = 2, reduction 8, paper layout, sigmoid squash;
    /// synthetic hyper weights) at every shipped size, fast against reference, outputs and every
    /// coefficient and spatial map: batch 2 on two threads (split passes, batched hyper network) and
    /// batch 1 on one thread. Inputs like a batch norm's output: uniform in [-2, 2).
    @Test(arguments: ["B", "C"])
    func layerAtEveryShippedSizeAgrees(_ variant: String) throws {
        for (channels, height, width) in Self.shippedShapes {
            let spec = ModelSpec(
                name: "dyrelu-layer", inputs: [TensorSpec(name: "x", shape: [-1, channels, height, width])],
                outputs: [TensorSpec(name: "y", shape: [-1, channels, height, width])], weights: .synthetic(seed: UInt64(channels)),
                nodes: [NodeSpec(name: "y", op: "dy_relu", inputs: ["x"],
                                 attrs: ["variant": .string(variant), "reduction": .int(8), "layout": .string("paper"),
                                         "squash": .string("sigmoid")])])
            let model = try Model.load(spec: spec, directory: FileManager.default.temporaryDirectory)
            let uniform = SeededInput.uniform([2, channels, height, width], seed: UInt64(height * 7 + channels))
            let batch = Tensor(shape: uniform.shape, data: uniform.data.map { $0 * 4 - 2 })
            let options = RunOptions(trace: .full)
            let reference = try model.run([batch], options: options)
            let context = "DY-ReLU-\(variant) [\(channels), \(height), \(width)]"
            for (threads, input) in [(2, batch), (1, SeededInput.sample(batch, 1))] {
                let engine = try FastEngine(model: model, options: FastEngineOptions(threads: threads))
                #expect(engine.referenceNodes.isEmpty, "\(context): the fast path covers the layer")
                let expected = input.shape[0] == 2 ? reference : try model.run([input], options: options)
                FastComparison(tolerance: 1e-4, context: "\(context), batch \(input.shape[0]), \(threads) thread(s)")
                    .compare(try engine.run([input], options: options), expected)
            }
        }
    }

    /// The model with its output moved to the classifier's logits, in a temporary directory (the
    /// synthetic weights' `replace` file copied along).
    static func logitsModel(_ name: String) throws -> (Model, URL) {
        let source = FastShippedModelTests.models.appendingPathComponent(name)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dynn-\(name)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: source.appendingPathComponent("model.json")))
                                as? [String: Any])
        json["outputs"] = [["name": "logits", "datatype": "FP32", "shape": [-1, 1000], "node": "classifier"]]
        try JSONSerialization.data(withJSONObject: json).write(to: directory.appendingPathComponent("model.json"))
        try FileManager.default.copyItem(at: source.appendingPathComponent("batch_norm.safetensors"),
                                         to: directory.appendingPathComponent("batch_norm.safetensors"))
        return (try Model.load(from: directory), directory)
    }

    /// The whole networks, batch 2 on two threads and the first sample alone on one thread, against the
    /// reference on their logits and every DY-ReLU's coefficients and map, within 1e-4 of scale. On
    /// typical inputs: fifty-odd layers amplify the rounding differences between oneDNN's and the
    /// reference's orders of summation (the DY-ReLUs' hyper networks feed on the means of everything
    /// before them), most on the heavy-tailed inputs whose logits reach hundreds (see models/README.md);
    /// `layerAtEveryShippedSizeAgrees` holds each layer to 1e-4 whatever its input.
    @Test(arguments: ["dyrelu-mobilenetv2", "dyrelu-c-mobilenetv2"])
    func dyReLUModelsAgree(_ name: String) throws {
        let (model, directory) = try Self.logitsModel(name)
        defer { try? FileManager.default.removeItem(at: directory) }
        let engine = try FastEngine(model: model, options: FastEngineOptions(threads: 2))
        #expect(engine.referenceNodes == ["flatten", "probabilities"], "\(name): only flatten and the unused softmax are reference ops")
        // Seed 1: two typical samples (logits under 10); heavy-tailed inputs amplify the rounding differences more.
        let batch = SeededInput.uniform([2, 3, 224, 224], seed: 1)
        let options = RunOptions(trace: .full)
        let reference = try model.run([batch], options: options)
        let logits = reference.outputs[0].data
        // The calibrated statistics keep the scale: with the drawn ones the logits reach about 1e12. (Random
        // inputs give logits mostly of order 1 to 10, some up to a few hundred: see models/README.md.)
        let largest = logits.map(abs).max() ?? 0
        #expect(logits.allSatisfy(\.isFinite) && largest > 0.3 && largest < 100, "\(name): logits up to \(largest)")

        let fast = try engine.run([batch], options: options)
        let deviation = FastComparison(tolerance: 1e-4, context: "\(name) batch 2").compare(fast, reference)
        print("\(name): logits up to \(largest), fast batch 2 deviation \(deviation) of scale")

        let single = try FastEngine(model: model, options: FastEngineOptions(threads: 1))
        let alone = try single.run([SeededInput.sample(batch, 0)], options: options)
        let comparison = FastComparison(tolerance: 1e-4, context: "\(name) batch 1, one thread")
        comparison.close(alone.outputs[0].data, SeededInput.sample(reference.outputs[0], 0).data, "logits")
        for (one, all) in zip(alone.trace, reference.trace) {
            comparison.close(one.activation?.a.first ?? [], all.activation?.a.first ?? [], "\(all.name) a")
            comparison.close(one.activation?.spatial?.first ?? [], all.activation?.spatial?.first ?? [], "\(all.name) spatial")
        }
    }
}
