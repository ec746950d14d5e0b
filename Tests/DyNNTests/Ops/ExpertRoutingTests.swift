import Foundation
import Testing
@testable import DyNN

@Suite struct ExpertRoutingTests {
    /// z = [[1, 0], [0, 2]] · m + [0, -1].
    func routing(_ kind: Routing, temperature: Float = 1, bias: Bool = true) -> ExpertRouting {
        ExpertRouting(weight: tensor([2, 2], [1, 0, 0, 2]), bias: bias ? tensor([2], [0, -1]) : nil,
                      routing: kind, temperature: temperature)
    }

    /// Channel means (2, 0) give z = (2, -1); means (0, 1) give z = (0, 1).
    let x = tensor([2, 2, 1, 2], [1, 3, -1, 1, 0, 0, 0, 2])

    @Test func sigmoidOfAFullyConnectedLayerOverTheChannelMeans() throws {
        let result = run(routing(.sigmoid), x, options: RunOptions(trace: .attention))
        let s = { (z: Float) in 1 / (1 + exp(-z)) }
        #expect(result.output.shape == [2, 2])
        #expect(maxDifference(result.output.data, [s(2), s(-1), s(0), s(1)]) < 1e-6)
        let attention = try #require(result.trace?.attention)
        #expect(result.trace?.op == "expert_routing")
        #expect(result.trace?.routedBy == nil)
        #expect(attention.routing == "sigmoid")
        #expect(attention.temperature == 1)
        #expect(maxDifference(attention.pi[0], [s(2), s(-1)]) < 1e-6)
        // Entropy of the weights normalised to sum 1.
        let p = s(2) / (s(2) + s(-1))
        #expect(abs(attention.entropy[0] - (-p * log(p) - (1 - p) * log(1 - p))) < 1e-5)
    }

    @Test func softmaxWithTheTemperatureAndARequestOverride() throws {
        // tau 2: softmax(2/2, -1/2) = (e^1, e^-0.5) / sum.
        let y = run(routing(.softmax, temperature: 2), x).output.data
        let (e1, e2) = (exp(Float(1)), exp(Float(-0.5)))
        #expect(maxDifference(Array(y[0..<2]), [e1 / (e1 + e2), e2 / (e1 + e2)]) < 1e-6)
        // The request's tau 1 replaces the layer's 2: softmax(2, -1).
        let overridden = run(routing(.softmax, temperature: 2), x, options: RunOptions(temperature: 1, trace: .attention))
        let (f1, f2) = (exp(Float(2)), exp(Float(-1)))
        #expect(maxDifference(Array(overridden.output.data[0..<2]), [f1 / (f1 + f2), f2 / (f1 + f2)]) < 1e-6)
        #expect(overridden.trace?.attention?.temperature == 1)
        #expect(run(routing(.softmax), x).trace == nil)
    }

    @Test func aRankTwoInputIsUsedAsIs() {
        let pooled = tensor([2, 2], [2, 0, 0, 1])
        let fromMeans = run(routing(.sigmoid, bias: false), x).output
        let fromRows = run(routing(.sigmoid, bias: false), pooled).output
        #expect(fromRows == fromMeans)
        #expect(fromRows.shape == [2, 2])
    }

    @Test func rejectsInputsThatDoNotMatchItsWeight() throws {
        #expect(shapeError(routing(.sigmoid), [[1, 3, 4, 4]]) == "expert_routing input has 3 channels, weight expects 2")
        #expect(shapeError(routing(.sigmoid), [[1, 2, 4]]) == "expert_routing expects an input of shape [N, C, H, W] or [N, C], got [1, 2, 4]")
        let badBias = ExpertRouting(weight: tensor([2, 2], [1, 0, 0, 2]), bias: tensor([3], [0, 0, 0]), routing: .sigmoid, temperature: 1)
        #expect(shapeError(badBias, [[1, 2, 1, 1]]) == "expert_routing bias has shape [3], expected [2]")
        #expect(try routing(.sigmoid).outputShape(for: [[5, 2, 7, 7]]) == [5, 2])
    }

    @Test func costCountsThePoolingAndTheLayer() {
        #expect(routing(.sigmoid).cost(for: [[1, 2, 3, 3]]) == OpCost(parameters: 6, macs: 18 + 4))
        #expect(routing(.sigmoid).cost(for: [[1, 2]]) == OpCost(parameters: 6, macs: 4))
    }
}
