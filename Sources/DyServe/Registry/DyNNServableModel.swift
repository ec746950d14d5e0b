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
    /// Most samples one engine call gets: a larger client batch runs in chunks of at most this
    /// many. The fast engine keeps a plan and workspace per batch size it has seen, so this bounds
    /// its memory to what `scheduler.max_batch_size` implies whatever batches clients send.
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
            guard batch > maxEngineBatch, inputs.allSatisfy({ $0.shape.first == batch }) else {
                let result = try engine.run(inputs, options: options)
                return InferenceOutcome(outputs: result.outputs, trace: result.trace)
            }
            var outcome: InferenceOutcome?
            for start in stride(from: 0, to: batch, by: maxEngineBatch) {
                let count = min(maxEngineBatch, batch - start)
                let part = try engine.run(inputs.map { $0.samples(start, count) }, options: options)
                outcome = outcome.map { $0.appending(part) } ?? InferenceOutcome(outputs: part.outputs, trace: part.trace)
            }
            return outcome ?? InferenceOutcome(outputs: [], trace: [])
        } catch {
            throw RequestError.badRequest(error.description)
        }
    }
}

extension Tensor {
    /// Samples `start ..< start + count` along the first (batch) dimension.
    func samples(_ start: Int, _ count: Int) -> Tensor {
        let per = shape.dropFirst().reduce(1, *)
        return Tensor(shape: [count] + shape.dropFirst(), data: Array(data[(start * per)..<((start + count) * per)]))
    }
}

extension InferenceOutcome {
    /// This outcome followed by the next chunk's samples: outputs and per-sample traces joined
    /// along the batch.
    func appending(_ next: RunResult) -> InferenceOutcome {
        let outputs = zip(self.outputs, next.outputs).map { a, b in
            Tensor(shape: [a.shape[0] + b.shape[0]] + a.shape.dropFirst(), data: a.data + b.data)
        }
        let trace = zip(self.trace, next.trace).map { a, b -> LayerTrace in
            var joined = a
            if var attention = joined.attention, let more = b.attention {
                attention.pi += more.pi
                attention.entropy += more.entropy
                joined.attention = attention
            }
            if var activation = joined.activation, let more = b.activation {
                activation.a += more.a
                activation.b += more.b
                if let spatial = more.spatial { activation.spatial = (activation.spatial ?? []) + spatial }
                joined.activation = activation
            }
            return joined
        }
        return InferenceOutcome(outputs: outputs, trace: trace)
    }
}
