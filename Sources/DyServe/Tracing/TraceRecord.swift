import DyNN
import Foundation

/// The class a request's first sample scored highest, for the `/attention` listing.
public struct TopClass: Sendable, Equatable {
    public var index: Int
    public var label: String?
    public var score: Float

    public init(index: Int, label: String?, score: Float) {
        self.index = index
        self.label = label
        self.score = score
    }
}

/// What `/attention?id=` returns about one past request.
public struct TraceRecord: Sendable {
    public var id: String
    public var model: String
    /// Seconds since 1970.
    public var time: Double
    /// The request's temperature override; nil when the model's default applied.
    public var temperature: Float?
    public var modelTemperature: Float
    public var level: TraceLevel
    public var batch: Int
    public var topClass: TopClass?
    /// Dynamic layers in network order.
    public var layers: [LayerTrace]
    /// Samples whose per-sample values `layers` holds, when fewer than `batch` (the trace was cut
    /// to fit `attention_store.max_record_bytes`); nil when every sample is there.
    public var samplesKept: Int?
    /// The request's input tensor, kept at trace level `full` only (the attention explorer draws it
    /// under the spatial attention maps); nil otherwise.
    public var input: Tensor?

    public init(id: String, model: String, time: Double, temperature: Float?, modelTemperature: Float,
                level: TraceLevel, batch: Int, topClass: TopClass?, layers: [LayerTrace], input: Tensor? = nil) {
        self.id = id
        self.model = model
        self.time = time
        self.temperature = temperature
        self.modelTemperature = modelTemperature
        self.level = level
        self.batch = batch
        self.topClass = topClass
        self.layers = layers
        self.input = input
    }

    /// The same record with per-sample values for the first samples only: as many as keep the
    /// estimate within `maxBytes` (possibly none). Sets `samplesKept`.
    public func keepingFirstSamples(within maxBytes: Int) -> TraceRecord {
        var empty = self
        empty.layers = layers.map { $0.keepingFirstSamples(0) }
        empty.input = input.map { Self.firstSamples(of: $0, 0) }
        let fixed = empty.estimatedBytes
        let perSample = batch > 0 ? max(1, (estimatedBytes - fixed + batch - 1) / batch) : 1
        let keep = max(0, min(batch, (maxBytes - fixed) / perSample))
        var cut = self
        cut.layers = layers.map { $0.keepingFirstSamples(keep) }
        cut.input = input.map { Self.firstSamples(of: $0, keep) }
        cut.samplesKept = keep
        return cut
    }

    /// The first `count` samples of a batched tensor (its first dimension).
    private static func firstSamples(of tensor: Tensor, _ count: Int) -> Tensor {
        guard let samples = tensor.shape.first, samples > 0 else { return tensor }
        let kept = min(count, samples)
        let perSample = tensor.data.count / samples
        return Tensor(shape: [kept] + tensor.shape.dropFirst(), data: Array(tensor.data.prefix(kept * perSample)))
    }

    /// Approximate memory held, for the store's byte bound: every float and string, plus a
    /// fixed allowance per array and record for headers and bookkeeping.
    public var estimatedBytes: Int {
        let arrayOverhead = 32
        func floats(_ rows: [[Float]]) -> Int {
            rows.reduce(arrayOverhead) { $0 + arrayOverhead + $1.count * MemoryLayout<Float>.stride }
        }
        var total = 256 + id.utf8.count + model.utf8.count + (topClass?.label?.utf8.count ?? 0)
        if let input { total += arrayOverhead * 2 + input.rank * MemoryLayout<Int>.stride + input.data.count * MemoryLayout<Float>.stride }
        for layer in layers {
            total += 128 + layer.name.utf8.count + layer.op.utf8.count + (layer.routedBy?.utf8.count ?? 0)
            if let a = layer.attention {
                total += 64 + a.routing.utf8.count + floats(a.pi) + a.entropy.count * MemoryLayout<Float>.stride
            }
            if let act = layer.activation {
                total += 96 + floats(act.a) + floats(act.b) + (act.spatial.map(floats) ?? 0)
            }
        }
        return total
    }
}

extension LayerTrace {
    /// This layer's trace for the first `count` samples of the batch.
    func keepingFirstSamples(_ count: Int) -> LayerTrace {
        var cut = self
        if var a = cut.attention {
            a.pi = Array(a.pi.prefix(count))
            a.entropy = Array(a.entropy.prefix(count))
            cut.attention = a
        }
        if var act = cut.activation {
            act.a = Array(act.a.prefix(count))
            act.b = Array(act.b.prefix(count))
            act.spatial = act.spatial.map { Array($0.prefix(count)) }
            cut.activation = act
        }
        return cut
    }
}
