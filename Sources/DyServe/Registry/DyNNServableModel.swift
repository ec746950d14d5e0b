import DyNN
import Foundation

/// A DyNN engine as the service serves it: the model's spec and summary become
/// `ServedModelInfo`, and the engine's input checks (`RunError`) become 400s, since they always
/// describe the client's input.
public struct DyNNServableModel: ServableModel {
    public let engine: any InferenceEngine
    public let info: ServedModelInfo
    /// The engine's intra-op threads (1 for the reference engine, which computes on the caller's thread).
    public let intraOpThreads: Int

    public var model: Model { engine.model }

    public init(engine: any InferenceEngine, intraOpThreads: Int = 1) {
        self.engine = engine
        self.intraOpThreads = max(1, intraOpThreads)
        let spec = engine.model.spec
        let summary = engine.model.summary(batch: 1)
        info = ServedModelInfo(
            name: spec.name, version: spec.version,
            inputs: spec.inputs.map { ServedTensorSpec(name: $0.name, datatype: $0.datatype, shape: $0.shape) },
            outputs: spec.outputs.map { ServedTensorSpec(name: $0.name, datatype: $0.datatype, shape: $0.shape) },
            labels: spec.labels, temperature: spec.temperature,
            parameters: summary.totalParams, multiplyAdds: summary.totalMacs,
            routing: Self.routing(of: engine.model))
    }

    /// The distinct routings of the model's dynamic convolutions, in graph order.
    static func routing(of model: Model) -> [String] {
        var found: [String] = []
        for node in model.nodes {
            if let conv = node.op as? DynamicConv2d, !found.contains(conv.routing.rawValue) {
                found.append(conv.routing.rawValue)
            }
        }
        return found
    }

    /// Resolves `nameOrPath` against `modelsDirectory` and loads it on the reference engine.
    public static func load(_ nameOrPath: String, modelsDirectory: URL) throws -> DyNNServableModel {
        DyNNServableModel(engine: try Model.load(from: try Model.resolve(nameOrPath, modelsDirectory: modelsDirectory)))
    }

    public func infer(_ inputs: [Tensor], options: RunOptions) throws -> InferenceOutcome {
        do {
            let result = try engine.run(inputs, options: options)
            return InferenceOutcome(outputs: result.outputs, trace: result.trace)
        } catch {
            throw RequestError.badRequest(error.description)
        }
    }
}
