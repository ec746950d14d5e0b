import Foundation
import Testing
@testable import DyNN

/// `{"synthetic": {"seed": S, "replace": FILE}}`: the file's tensors take the place of drawn ones of the
/// same name, every other tensor stays what the seed gives.
@Suite struct SyntheticReplaceTests {
    static func spec(replace: String?) -> ModelSpec {
        var spec = SyntheticWeightsTests.spec(seed: 5)
        spec.weights = .synthetic(seed: 5, replace: replace)
        return spec
    }

    @Test func replacesNamedTensorsAndKeepsTheRestOfTheStream() throws {
        let directory = try ModelDirectory()
        let mean = Tensor(shape: [8], data: (0..<8).map { Float($0) })
        let variance = Tensor(shape: [8], data: (0..<8).map { Float($0 + 1) })
        try directory.write("stats.safetensors", SafeTensorsWriter.encode([("bn.running_mean", mean), ("bn.running_var", variance)]))
        try directory.write(spec: Self.spec(replace: "stats.safetensors"))
        let replaced = try Model.load(from: directory.url)
        let plain = try Model.load(spec: Self.spec(replace: nil), directory: directory.url)
        // Loaded unfolded, so the batch norm's statistics are visible.
        let unfolded = try Model.load(spec: Self.spec(replace: "stats.safetensors"), directory: directory.url, foldBatchNorm: false)
        let bn = try #require(unfolded.nodes.compactMap { $0.op as? BatchNorm }.first)
        #expect(bn.mean == mean && bn.variance == variance)
        // Weights drawn after the replaced ones are unchanged: the stream still advanced over them.
        let linear = try #require(replaced.nodes.last?.op as? Linear), plainLinear = try #require(plain.nodes.last?.op as? Linear)
        #expect(linear.weight == plainLinear.weight)
        let input = ramp([1, 3, 8, 8])
        #expect(try replaced.run([input]).outputs != plain.run([input]).outputs)
    }

    @Test func rejectsWrongShapesUnusedTensorsNonFiniteValuesAndPathsOutside() throws {
        let directory = try ModelDirectory()
        try directory.write(spec: Self.spec(replace: "stats.safetensors"))
        try directory.write("stats.safetensors", SafeTensorsWriter.encode([("bn.running_mean", Tensor(zeros: [3]))]))
        #expect(modelError { try Model.load(from: directory.url) }
                == .tensorShape(node: "bn", role: "running_mean", tensor: "bn.running_mean", expected: [8], actual: [3]))
        try directory.write("stats.safetensors", SafeTensorsWriter.encode([("bn.running_mu", Tensor(zeros: [8]))]))
        #expect(modelError { try Model.load(from: directory.url) }
                == .unusedReplacement(path: directory.url.appendingPathComponent("stats.safetensors").path, tensor: "bn.running_mu"))
        try directory.write("stats.safetensors", SafeTensorsWriter.encode([("bn.running_var", Tensor(shape: [8], data: [1, 1, .nan, 1, 1, 1, 1, 1]))]))
        #expect(modelError { try Model.load(from: directory.url) }
                == .nonFiniteWeight(node: "bn", role: "running_var", tensor: "bn.running_var", index: 2))
        try FileManager.default.removeItem(at: directory.url.appendingPathComponent("stats.safetensors"))
        guard case .unreadable? = modelError({ try Model.load(from: directory.url) }) else {
            Issue.record("a missing replace file must be reported as unreadable")
            return
        }
        for path in ["../stats.safetensors", "/etc/passwd", ""] {
            let json = String(decoding: Self.spec(replace: "PLACEHOLDER").encoded(), as: UTF8.self)
                .replacingOccurrences(of: "\"PLACEHOLDER\"", with: "\"\(path)\"")
            try directory.write(json: json)
            #expect(modelError { try Model.load(from: directory.url) }
                    == .invalidField(field: "replace", context: "weights.synthetic", expected: "a path inside the model directory",
                                     actual: "\"\(path)\""), "replace \(path)")
        }
    }
}
