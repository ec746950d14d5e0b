import DyNN
import Foundation
import Testing
@testable import DyServe

@Suite struct TraceEncoderTests {
    /// A CondConv block's trace: the routing once, each convolution naming it.
    @Test func writesTheSharedRoutingOnceAndRoutedByOnEachConvolution() throws {
        let routing = LayerTrace(name: "route", op: "expert_routing",
                                 attention: AttentionTrace(routing: "sigmoid", temperature: 1, pi: [[0.5, 0.25]], entropy: [0.6365]))
        let layers = [routing, LayerTrace(name: "conv_a", op: "dynamic_conv2d", routedBy: "route"),
                      LayerTrace(name: "conv_b", op: "dynamic_conv2d", routedBy: "route")]
        let record = TraceRecord(id: "r1", model: "m", time: 0, temperature: nil, modelTemperature: 1,
                                 level: .attention, batch: 1, topClass: nil, layers: layers)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(TraceEncoder.encode(record))) as? [String: Any])
        let written = try #require(json["layers"] as? [[String: Any]])
        #expect(written.map { $0["type"] as? String } == ["expert_routing", "dynamic_conv2d", "dynamic_conv2d"])
        let attention = try #require(written[0]["attention"] as? [String: Any])
        #expect(attention["pi"] as? [[Double]] == [[0.5, 0.25]])
        #expect(written[0]["routed_by"] == nil)
        #expect(written[1]["routed_by"] as? String == "route" && written[1]["attention"] == nil)
        #expect(written[2]["routed_by"] as? String == "route")
        // The byte estimate counts the name it holds.
        var longer = record
        longer.layers[1].routedBy = String(repeating: "r", count: 100)
        #expect(longer.estimatedBytes == record.estimatedBytes + 95)
    }
}
