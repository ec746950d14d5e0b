import DyNN
import Foundation

/// A DyNN engine as the service serves it: the model's spec and summary become
/// `ServedModelInfo`, and the engine's input checks (`RunError`) become 400s, since they always
/// describe the client's input; an engine failure becomes a 500 with its cause.
public struct DyNNServableModel: ServableModel {
    public let engine: any InferenceEngine
    public let info: ServedModelInfo
    /// The engine's intra-op threads (1 for the reference engine, which computes on the caller's thread).
    public let intraOpThreads: Int
    /// Most samples one engine call gets: a larger client batch runs in chunks of at most this
    /// many, so one request's activations stay within what `scheduler.max_batch_size` implies (the
    /// fast engine also never plans past its own planned sizes).
    public let maxEngineBatch: Int

    public var model: Model { engine.model }

    public init(engine: any InferenceEngine, intraOpThreads: Int = 1, maxEngineBatch: Int = .max) {
        self.engine = engine
        self.maxEngineBatch = max(1, maxEngineBatch)
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
            let batch = inputs.first?.shape.first ?? 0
            let result: RunResult
            if batch > maxEngineBatch, inputs.allSatisfy({ $0.shape.first == batch }) {
                let chunks = stride(from: 0, to: batch, by: maxEngineBatch).map { min(maxEngineBatch, batch - $0) }
                result = try engine.run(inputs, options: options, chunks: chunks)
            } else {
                result = try engine.run(inputs, options: options)
            }
            return InferenceOutcome(outputs: result.outputs, trace: result.trace)
        } catch where error.isInputError {
            throw RequestError.badRequest(error.description)
        } catch {
            // The engine failed, not the request: a 500 carrying the cause.
            throw RequestError.internalError(error.description)
        }
    }
}
