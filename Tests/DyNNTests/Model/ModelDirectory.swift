import Foundation
@testable import DyNN

/// A throwaway model directory under the system temp folder, removed on deinit.
final class ModelDirectory {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("dynn-model-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: url) }

    func write(_ name: String, _ bytes: [UInt8]) throws {
        try Data(bytes).write(to: url.appendingPathComponent(name))
    }

    func write(spec: ModelSpec) throws { try write("model.json", spec.encoded()) }

    func write(json: String) throws { try write("model.json", Array(json.utf8)) }

    func write(weights: [(name: String, tensor: Tensor)]) throws {
        try write("weights.safetensors", SafeTensorsWriter.encode(weights))
    }

    /// Writes both files and loads them through the public entry point.
    func load(spec: ModelSpec, weights: [(name: String, tensor: Tensor)] = []) throws -> Model {
        try write(spec: spec)
        if case .file = spec.weights { try write(weights: weights) }
        return try Model.load(from: url)
    }
}

/// Small deterministic tensors for tests.
func ramp(_ shape: [Int], scale: Float = 0.1, offset: Float = 0) -> Tensor {
    let count = shape.reduce(1, *)
    return Tensor(shape: shape, data: (0..<count).map { Float(($0 * 7) % 11) * scale - 0.5 + offset })
}

/// Expects `body` to throw a `ModelError` and returns it for inspection.
func modelError(_ body: () throws -> Any) -> ModelError? {
    do {
        _ = try body()
        return nil
    } catch let error as ModelError {
        return error
    } catch {
        return nil
    }
}

/// A one-conv model `input [-1,2,4,4] -> conv (3 out, 3x3, pad 1) -> output`, weights from a file.
func convSpec(nodes extra: [NodeSpec] = [], output: String = "conv", outputShape: [Int] = [-1, 3, 4, 4]) -> ModelSpec {
    ModelSpec(name: "tiny", inputs: [TensorSpec(name: "input", shape: [-1, 2, 4, 4])],
              outputs: [TensorSpec(name: "out", shape: outputShape, node: output)],
              weights: .file("weights.safetensors"),
              nodes: [NodeSpec(name: "conv", op: "conv2d", inputs: ["input"],
                               attrs: ["out_channels": .int(3), "kernel_size": .int(3), "padding": .int(1)],
                               weights: ["weight": "conv.weight", "bias": "conv.bias"])] + extra)
}

let convWeights: [(name: String, tensor: Tensor)] = [("conv.weight", ramp([3, 2, 3, 3])), ("conv.bias", ramp([3]))]
