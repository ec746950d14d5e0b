import DyNN
import Foundation
import Prometheus
import Testing
@testable import DyServe

@Suite struct AttentionDriftMetricsTests {
    /// The value of the exposition line that starts with `series` (name and labels), if any.
    static func value(_ text: String, _ series: String) -> Double? {
        for line in text.split(separator: "\n") where line.hasPrefix(series + " ") {
            return Double(line.dropFirst(series.count + 1))
        }
        return nil
    }

    static func entropy(_ pi: [Float]) -> Float {
        let s = pi.reduce(0, +)
        return -pi.reduce(0) { $0 + ($1 > 0 ? ($1 / s) * log($1 / s) : 0) }
    }

    static func layer(_ name: String, routing: String = "softmax", _ pi: [[Float]]) -> LayerTrace {
        LayerTrace(name: name, op: "dynamic_conv2d",
                   attention: AttentionTrace(routing: routing, temperature: 1, pi: pi, entropy: pi.map(entropy)))
    }

    @Test func entropyIsNormalisedByLogKAndWeightsAreSummedPerExpert() throws {
        let registry = PrometheusCollectorRegistry()
        let drift = AttentionDriftMetrics(registry: registry)
        // A batch of two: uniform (ratio 1) and one-hot (ratio 0); then one sample of 0.7/0.1/0.1/0.1.
        drift.record(model: "m", trace: [Self.layer("conv1", [[0.25, 0.25, 0.25, 0.25], [1, 0, 0, 0]])])
        drift.record(model: "m", trace: [Self.layer("conv1", [[0.7, 0.1, 0.1, 0.1]])])
        let text = String(decoding: registry.emitToBuffer(), as: UTF8.self)
        let h = #"dyserve_attention_entropy_ratio"#
        #expect(Self.value(text, h + #"_count{model="m",layer="conv1"}"#) == 3)
        #expect(Self.value(text, h + #"_bucket{model="m",layer="conv1",le="0.1"}"#) == 1)
        // 0.7/0.1/0.1/0.1: entropy 0.940 nats, log 4 = 1.386, ratio 0.678.
        #expect(Self.value(text, h + #"_bucket{model="m",layer="conv1",le="0.6"}"#) == 1)
        #expect(Self.value(text, h + #"_bucket{model="m",layer="conv1",le="0.7"}"#) == 2)
        #expect(Self.value(text, h + #"_bucket{model="m",layer="conv1",le="0.995"}"#) == 2)
        #expect(Self.value(text, h + #"_bucket{model="m",layer="conv1",le="1.0"}"#) == 3)
        let sum = try #require(Self.value(text, h + #"_sum{model="m",layer="conv1"}"#))
        #expect(abs(sum - (1 + 0 + 0.9404 / 1.3863)) < 1e-3)
        let w = #"dyserve_attention_expert_weight_total"#
        let e0 = try #require(Self.value(text, w + #"{model="m",layer="conv1",expert="0",routing="softmax"}"#))
        let e3 = try #require(Self.value(text, w + #"{model="m",layer="conv1",expert="3",routing="softmax"}"#))
        #expect(abs(e0 - 1.95) < 1e-6)
        #expect(abs(e3 - 0.35) < 1e-6)
    }

    @Test func sigmoidRoutingSingleExpertsAndLayersWithoutAttention() {
        let registry = PrometheusCollectorRegistry()
        let drift = AttentionDriftMetrics(registry: registry)
        drift.record(model: "m", trace: [
            Self.layer("gate", routing: "sigmoid", [[0.9, 0.8]]),
            // One expert: its weight is counted, but there is no choice whose entropy to measure.
            Self.layer("single", [[1]]),
            // A layer routed by another one (no attention of its own) and a DY-ReLU: no series.
            LayerTrace(name: "routed", op: "dynamic_conv2d"),
            LayerTrace(name: "act", op: "dy_relu", activation: ActivationTrace(variant: "B", pieces: 2, channels: 1, a: [[1, 0]], b: [[0, 0]])),
        ])
        let text = String(decoding: registry.emitToBuffer(), as: UTF8.self)
        let gate = Self.value(text, #"dyserve_attention_expert_weight_total{model="m",layer="gate",expert="1",routing="sigmoid"}"#) ?? 0
        #expect(abs(gate - 0.8) < 1e-6)
        #expect(Self.value(text, #"dyserve_attention_entropy_ratio_count{model="m",layer="gate"}"#) == 1)
        #expect(Self.value(text, #"dyserve_attention_expert_weight_total{model="m",layer="single",expert="0",routing="softmax"}"#) == 1)
        #expect(Self.value(text, #"dyserve_attention_entropy_ratio_count{model="m",layer="single"}"#) == 0)
        #expect(!text.contains(#"layer="routed""#))
        #expect(!text.contains(#"layer="act""#))
    }

    @Test func untracedRequestsCountAndTheSwitchTurnsItAllOff() {
        // TestModel's attention for an all-zero input is uniform over its 3 experts: ratio 1.
        let input = #"{"model": "test", "input": [[[[0, 0], [0, 0]]]], "trace": "none"}"#
        let on = APIHarness()
        #expect(on.post(input).status == 200)
        #expect(on.post(#"{"model": "test", "input": [[[[0, 0], [0, 0]]], [[[0, 0], [0, 0]]]]}"#).status == 200)
        let text = on.get("/metrics").text
        #expect(Self.value(text, #"dyserve_attention_entropy_ratio_bucket{model="test",layer="conv1",le="0.995"}"#) == 0)
        #expect(Self.value(text, #"dyserve_attention_entropy_ratio_count{model="test",layer="conv1"}"#) == 3)
        let weight = Self.value(text, #"dyserve_attention_expert_weight_total{model="test",layer="conv1",expert="2",routing="softmax"}"#) ?? 0
        #expect(abs(weight - 1) < 1e-5)
        // Untraced requests are still not stored.
        #expect((on.get("/attention").json["requests"] as? [Any])?.count == 1)

        let off = APIHarness(attentionDrift: false)
        #expect(off.post(input).status == 200)
        #expect(!off.get("/metrics").text.contains("dyserve_attention_entropy"))
        #expect(!off.get("/metrics").text.contains("dyserve_attention_expert_weight"))
        #expect(off.context.engineTraceLevel(.none) == .none)
        #expect(on.context.engineTraceLevel(.none) == .attention)
        #expect(on.context.engineTraceLevel(.full) == .full)
    }
}
