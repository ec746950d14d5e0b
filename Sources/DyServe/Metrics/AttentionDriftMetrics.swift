import DyNN
import Foundation
import Prometheus

/// Attention drift in `/metrics`, from every answered inference request (traced or not), so a shift in
/// how the dynamic layers route shows up in Prometheus the way latency does.
///
/// Per model and layer with attention (a dynamic convolution, or any layer whose trace carries
/// `attention`, such as an expert-routing layer):
/// - `dyserve_attention_entropy_ratio{model, layer}`: histogram of each sample's attention entropy
///   divided by log K (K experts), so 1 is uniform attention and 0 one expert alone. Not recorded for
///   K = 1, where there is no choice.
/// - `dyserve_attention_expert_weight_total{model, layer, expert, routing}`: each expert's routing
///   weight summed over samples (softmax pi, or sigmoid weights under `routing="sigmoid"`);
///   `rate()` of it over the rate of the histogram's `_count` is the expert's average weight.
///
/// Labels come from the model files the service was configured with (layer names, expert indices),
/// never from a request, so the series are bounded: per model, for each layer with attention,
/// `entropyBuckets.count + 3` histogram series plus K counters (docs/deploy.md gives the figures).
public final class AttentionDriftMetrics: @unchecked Sendable {
    // Computed: the descriptor type is not Sendable, so it cannot be a stored static.
    static var entropy: MetricNameDescriptor {
        MetricNameDescriptor(namespace: "dyserve", subsystem: "attention", metricName: "entropy", unitName: "ratio",
                             helpText: "Attention entropy per sample divided by log K (1 = uniform over the K experts), per model and dynamic layer.")
    }
    static var expertWeight: MetricNameDescriptor {
        MetricNameDescriptor(namespace: "dyserve", subsystem: "attention", metricName: "expert_weight", unitName: "total",
                             helpText: "Routing weight (softmax pi or sigmoid weight) summed over samples, per model, dynamic layer and expert.")
    }

    /// Finer near 1: trained layers at tau = 1 often sit above 0.9, and a drift there is what matters.
    static let entropyBuckets: [Double] = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995, 1]

    private struct LayerInstruments {
        let entropy: ValueHistogram
        let weights: [Prometheus.Counter]
    }

    private let registry: PrometheusCollectorRegistry
    private let lock = NSLock()
    /// Keyed by model, then layer name; created on a layer's first recorded request.
    private var instruments: [String: [String: LayerInstruments]] = [:]

    public init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
    }

    /// Records one answered request of `model`: every layer of `trace` that carries attention.
    /// Only call with configured model names and traces of their engine: both become labels.
    public func record(model: String, trace: [LayerTrace]) {
        for layer in trace {
            guard let attention = layer.attention, let experts = attention.pi.first?.count, experts > 0 else { continue }
            let layerInstruments = self.layer(model: model, name: layer.name, experts: experts, routing: attention.routing)
            // A layer's K is fixed by its model; a trace that disagrees is a bug elsewhere and is
            // not counted rather than counted under the wrong expert.
            guard layerInstruments.weights.count == experts else { continue }
            var sums = [Double](repeating: 0, count: experts)
            for row in attention.pi where row.count == experts {
                for k in 0..<experts { sums[k] += Double(row[k]) }
            }
            for k in 0..<experts where sums[k] > 0 { layerInstruments.weights[k].increment(by: sums[k]) }
            guard experts > 1 else { continue }
            let maximum = log(Double(experts))
            for entropy in attention.entropy where entropy.isFinite {
                layerInstruments.entropy.record(min(max(Double(entropy) / maximum, 0), 1))
            }
        }
    }

    private func layer(model: String, name: String, experts: Int, routing: String) -> LayerInstruments {
        lock.withLock {
            if let existing = instruments[model]?[name] { return existing }
            let labels = [("model", model), ("layer", name)]
            let created = LayerInstruments(
                entropy: registry.makeValueHistogram(descriptor: Self.entropy, labels: labels, buckets: Self.entropyBuckets),
                weights: (0..<experts).map { k in
                    registry.makeCounter(descriptor: Self.expertWeight,
                                         labels: labels + [("expert", String(k)), ("routing", routing)])
                })
            instruments[model, default: [:]][name] = created
            return created
        }
    }
}
