import Foundation
import Testing
import DyNN

@Suite struct LayerProfileTests {
    private func sample(_ name: String, _ op: String = "conv2d", attention: UInt64 = 0, aggregation: UInt64 = 0,
                        convolution: UInt64 = 0, activation: UInt64 = 0) -> LayerProfile.Sample {
        LayerProfile.Sample(name: name, op: op, attentionNs: attention, aggregationNs: aggregation,
                            convolutionNs: convolution, activationNs: activation)
    }

    @Test func averagesEachPhaseOverPassesInMilliseconds() throws {
        let passes = [
            [sample("a", "dynamic_conv2d", attention: 1_000_000, aggregation: 2_000_000, convolution: 3_000_000),
             sample("b", activation: 500_000)],
            [sample("a", "dynamic_conv2d", attention: 3_000_000, aggregation: 2_000_000, convolution: 5_000_000),
             sample("b", activation: 1_500_000)],
        ]
        let profile = try #require(LayerProfile(passes: passes))
        #expect(profile.passes == 2)
        #expect(profile.rows.map(\.name) == ["a", "b"])
        #expect(profile.rows[0].attentionMs == 2 && profile.rows[0].aggregationMs == 2)
        #expect(profile.rows[0].convolutionMs == 4 && profile.rows[0].totalMs == 8)
        #expect(profile.rows[1].activationMs == 1 && profile.rows[1].totalMs == 1)
        #expect(profile.total.totalMs == 9 && profile.total.convolutionMs == 4 && profile.total.activationMs == 1)
    }

    @Test func sumsRowsPerOpKindInOrderOfAppearance() throws {
        let pass = [sample("a", "conv2d", convolution: 1_000_000), sample("b", "dy_relu", attention: 2_000_000, activation: 1_000_000),
                    sample("c", "conv2d", convolution: 3_000_000), sample("d", "dy_relu", activation: 4_000_000)]
        let kinds = try #require(LayerProfile(passes: [pass])).kinds
        #expect(kinds.map(\.op) == ["conv2d", "dy_relu"])
        #expect(kinds.map(\.name) == ["2", "2"])
        #expect(kinds[0].convolutionMs == 4 && kinds[0].totalMs == 4)
        #expect(kinds[1].attentionMs == 2 && kinds[1].activationMs == 5 && kinds[1].totalMs == 7)
    }

    @Test func emptyOrMismatchedPassesGiveNothing() {
        #expect(LayerProfile(passes: []) == nil)
        #expect(LayerProfile(passes: [[]]) == nil)
        #expect(LayerProfile(passes: [[sample("a")], [sample("b")]]) == nil)
        #expect(LayerProfile(passes: [[sample("a")], [sample("a"), sample("b")]]) == nil)
        #expect(LayerProfile(passes: [[sample("a", "conv2d")], [sample("a", "relu")]]) == nil)
    }

    @Test func hugeTimesDoNotTrap() throws {
        let big = sample("a", attention: .max, aggregation: .max, convolution: .max, activation: .max)
        let profile = try #require(LayerProfile(passes: [[big], [big]]))
        #expect(profile.total.totalMs > 0 && profile.total.totalMs.isFinite)
    }

    @Test func encodesSnakeCaseKeys() throws {
        let profile = try #require(LayerProfile(passes: [[sample("a", convolution: 1_000_000)]]))
        let object = try #require(try JSONSerialization.jsonObject(with: JSONEncoder().encode(profile)) as? [String: Any])
        let rows = try #require(object["rows"] as? [[String: Any]])
        #expect(Set(rows[0].keys) == ["name", "op", "attention_ms", "aggregation_ms", "convolution_ms",
                                       "activation_ms", "total_ms"])
        #expect(object["total"] != nil && object["passes"] as? Int == 1)
    }
}
