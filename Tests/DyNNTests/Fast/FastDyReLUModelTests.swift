import DyNN
import Foundation
import Testing

/// The shipped DY-ReLU MobileNetV2s through the fast backend against the reference `Model.run`, on their
/// logits (the classifier's output: probabilities over 1000 classes are too flat for a 1e-4 check to say
/// much) and on every DY-ReLU's coefficients and spatial map.
@Suite struct FastDyReLUModelTests {
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

    /// Batch 2 on two threads (the DY-ReLU passes split across both, the hyper network run for both
    /// samples at once) and the first sample alone on one thread (no split), against the reference.
    @Test(arguments: ["dyrelu-mobilenetv2", "dyrelu-c-mobilenetv2"])
    func dyReLUModelsAgree(_ name: String) throws {
        let (model, directory) = try Self.logitsModel(name)
        defer { try? FileManager.default.removeItem(at: directory) }
        let engine = try FastEngine(model: model, options: FastEngineOptions(threads: 2))
        #expect(engine.referenceNodes == ["flatten"], "\(name): only flatten may fall back to its reference op")
        let batch = SeededInput.uniform([2, 3, 224, 224], seed: 14)
        let options = RunOptions(trace: .full)
        let reference = try model.run([batch], options: options)
        let logits = reference.outputs[0].data
        // The synthetic weights keep activations in a sane range: finite logits of order 1 to 10, and
        // probabilities far from one-hot, so the comparison below tests numbers that mean something.
        let largest = logits.map(abs).max() ?? 0
        #expect(logits.allSatisfy(\.isFinite) && largest > 0.3 && largest < 100, "\(name): logits up to \(largest)")
        // Each sample's largest softmax probability: 1 / sum_j exp(z_j - max z).
        let top = (0..<2).map { n -> Float in
            let row = logits[n * 1000..<(n + 1) * 1000], peak = row.max() ?? 0
            return 1 / row.reduce(0) { $0 + exp($1 - peak) }
        }.max() ?? 1
        #expect(top < 0.5, "\(name): largest probability \(top)")

        let fast = try engine.run([batch], options: options)
        let deviation = FastComparison(tolerance: 1e-4, context: "\(name) batch 2").compare(fast, reference)
        print("\(name): logits up to \(largest), largest probability \(top), fast batch 2 deviation \(deviation)")

        let single = try FastEngine(model: model, options: FastEngineOptions(threads: 1))
        let first = SeededInput.sample(batch, 0)
        let alone = try single.run([first], options: options)
        let comparison = FastComparison(tolerance: 1e-4, context: "\(name) batch 1, one thread")
        comparison.close(alone.outputs[0].data, SeededInput.sample(reference.outputs[0], 0).data, "logits")
        for (one, all) in zip(alone.trace, reference.trace) {
            comparison.close(one.activation?.a.first ?? [], all.activation?.a.first ?? [], "\(all.name) a")
            comparison.close(one.activation?.spatial?.first ?? [], all.activation?.spatial?.first ?? [], "\(all.name) spatial")
        }
    }
}
