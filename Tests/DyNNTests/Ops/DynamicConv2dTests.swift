import Foundation
import Testing
@testable import DyNN

@Suite struct DynamicConv2dTests {
    let padded = ConvGeometry(kernelH: 3, kernelW: 3, padTop: 1, padLeft: 1, padBottom: 1, padRight: 1)

    /// K experts over `in` -> `out` channels with a random attention MLP.
    func randomLayer(_ rng: inout TestRandom, k: Int, inChannels: Int = 3, outChannels: Int = 4,
                     routing: Routing = .softmax, temperature: Float = 1, attentionScale: Float = 1) -> DynamicConv2d {
        DynamicConv2d(experts: rng.tensor([k, outChannels, inChannels, 3, 3]), expertBias: rng.tensor([k, outChannels]),
                      attention: randomMLP(&rng, inputs: inChannels, hidden: 4, outputs: k, scale: attentionScale),
                      routing: routing, temperature: temperature, geometry: padded)
    }

    /// The static convolution with the kernel `sum_k weights[k] * W_k` (and the same for biases).
    func staticEquivalent(_ layer: DynamicConv2d, weights: [Float]) -> Conv2d {
        let k = layer.expertCount
        let size = layer.experts.count / k
        let outChannels = layer.experts.shape[1]
        var w = [Float](repeating: 0, count: size)
        var b = [Float](repeating: 0, count: outChannels)
        for e in 0..<k {
            for i in 0..<size { w[i] += weights[e] * layer.experts.data[e * size + i] }
            for o in 0..<outChannels { b[o] += weights[e] * (layer.expertBias?.data[e * outChannels + o] ?? 0) }
        }
        return Conv2d(weight: Tensor(shape: Array(layer.experts.shape.dropFirst()), data: w),
                      bias: Tensor(shape: [outChannels], data: b), geometry: layer.geometry)
    }

    @Test func identicalExpertsEqualTheStaticConvolution() {
        var rng = TestRandom(seed: 1)
        let weight = rng.tensor([4, 3, 3, 3])
        let bias = rng.tensor([4])
        let k = 3
        let layer = DynamicConv2d(
            experts: Tensor(shape: [k, 4, 3, 3, 3], data: Array([[Float]](repeating: weight.data, count: k).joined())),
            expertBias: Tensor(shape: [k, 4], data: Array([[Float]](repeating: bias.data, count: k).joined())),
            attention: randomMLP(&rng, inputs: 3, hidden: 4, outputs: k, scale: 2),
            routing: .softmax, temperature: 1, geometry: padded)
        let x = rng.tensor([2, 3, 6, 5])
        let dynamic = run(layer, x).output
        let plain = run(Conv2d(weight: weight, bias: bias, geometry: padded), x).output
        #expect(maxDifference(dynamic, plain) < 1e-5)
    }

    @Test func softmaxWeightsAreADistribution() throws {
        var rng = TestRandom(seed: 2)
        let layer = randomLayer(&rng, k: 4, attentionScale: 3)
        let trace = try #require(run(layer, rng.tensor([3, 3, 5, 5]), options: RunOptions(trace: .attention)).trace)
        #expect(trace.op == "dynamic_conv2d")
        let attention = try #require(trace.attention)
        #expect(attention.routing == "softmax")
        #expect(attention.pi.count == 3)
        for pi in attention.pi {
            #expect(pi.count == 4)
            #expect(abs(pi.reduce(0, +) - 1) < 1e-5)
            #expect(pi.allSatisfy { $0 >= 0 && $0 <= 1 })
        }
        #expect(attention.entropy.allSatisfy { $0 >= 0 && $0 <= log(4) + 1e-5 })
    }

    @Test func knownLogitsGiveKnownWeightsOutputAndEntropy() throws {
        var rng = TestRandom(seed: 3)
        // logits (0, ln 3): pi = (1/4, 3/4).
        var layer = randomLayer(&rng, k: 2)
        layer.attention = constantMLP(inputs: 3, hidden: 4, logits: [0, log(3)])
        let x = rng.tensor([1, 3, 4, 4])
        let result = run(layer, x, options: RunOptions(trace: .full))
        let attention = try #require(result.trace?.attention)
        #expect(maxDifference(attention.pi[0], [0.25, 0.75]) < 1e-6)
        let expectedEntropy = -(0.25 * log(Float(0.25)) + 0.75 * log(Float(0.75)))
        #expect(abs(attention.entropy[0] - expectedEntropy) < 1e-6)
        #expect(attention.temperature == 1)
        let reference = run(staticEquivalent(layer, weights: [0.25, 0.75]), x).output
        #expect(maxDifference(result.output, reference) < 1e-5)
    }

    @Test func highTemperatureFlattensAttentionAndRequestOverridesModel() throws {
        var rng = TestRandom(seed: 4)
        let layer = randomLayer(&rng, k: 4, temperature: 1, attentionScale: 3)
        let x = rng.tensor([1, 3, 5, 5])
        let sharp = try #require(run(layer, x, options: RunOptions(trace: .attention)).trace?.attention)
        let flat = try #require(run(layer, x, options: RunOptions(temperature: 1000, trace: .attention)).trace?.attention)
        #expect(flat.temperature == 1000)
        #expect(sharp.temperature == 1)
        #expect(flat.pi[0].allSatisfy { abs($0 - 0.25) < 1e-2 })
        #expect(flat.entropy[0] > sharp.entropy[0])
        #expect(abs(flat.entropy[0] - log(4)) < 1e-3)

        // The layer's own tau applies when the request sets none.
        var hot = layer
        hot.temperature = 1000
        let fromModel = try #require(run(hot, x, options: RunOptions(trace: .attention)).trace?.attention)
        #expect(fromModel.temperature == 1000)
        #expect(maxDifference(fromModel.pi[0], flat.pi[0]) < 1e-7)
    }

    @Test func sigmoidRoutingNeedNotSumToOne() throws {
        var rng = TestRandom(seed: 6)
        var layer = randomLayer(&rng, k: 3, routing: .sigmoid)
        layer.attention = constantMLP(inputs: 3, hidden: 4, logits: [2, 0, -1])
        let x = rng.tensor([1, 3, 4, 4])
        let result = run(layer, x, options: RunOptions(temperature: 50, trace: .attention))
        let attention = try #require(result.trace?.attention)
        let expected: [Float] = [2, 0, -1].map { 1 / (1 + exp(-$0)) }
        // Temperature does not apply to sigmoid routing; the trace records 1.
        #expect(attention.routing == "sigmoid")
        #expect(attention.temperature == 1)
        #expect(maxDifference(attention.pi[0], expected) < 1e-6)
        #expect(attention.pi[0].reduce(0, +) > 1.1)
        let normalised = expected.map { $0 / expected.reduce(0, +) }
        #expect(abs(attention.entropy[0] - (-normalised.map { $0 * log($0) }.reduce(0, +))) < 1e-5)
        let reference = run(staticEquivalent(layer, weights: expected), x).output
        #expect(maxDifference(result.output, reference) < 1e-5)
    }

    @Test func everySampleGetsItsOwnKernel() throws {
        var rng = TestRandom(seed: 7)
        let layer = randomLayer(&rng, k: 4, attentionScale: 3)
        let first = rng.tensor([1, 3, 5, 6])
        let second = Tensor(shape: [1, 3, 5, 6], data: rng.values(90).map { $0 * 4 + 1 })
        let both = Tensor(shape: [2, 3, 5, 6], data: first.data + second.data)
        let options = RunOptions(trace: .attention)
        let batched = run(layer, both, options: options)
        let alone1 = run(layer, first, options: options)
        let alone2 = run(layer, second, options: options)
        let pi = try #require(batched.trace?.attention?.pi)
        #expect(maxDifference(pi[0], pi[1]) > 1e-2)  // the two samples really route differently
        #expect(maxDifference(batched.output.data, alone1.output.data + alone2.output.data) < 1e-5)
        #expect(try #require(alone2.trace?.attention?.pi) == [pi[1]])
    }

    @Test func noTraceUnlessAsked() {
        var rng = TestRandom(seed: 8)
        let layer = randomLayer(&rng, k: 2)
        #expect(run(layer, rng.tensor([1, 3, 4, 4])).trace == nil)
    }

    @Test func worksWithoutBiasesAndWithGroups() {
        var rng = TestRandom(seed: 9)
        let geometry = ConvGeometry(kernelH: 3, kernelW: 3, strideH: 2, strideW: 2, padTop: 1, padLeft: 0, padBottom: 1, padRight: 2, groups: 2)
        var layer = DynamicConv2d(experts: rng.tensor([2, 6, 2, 3, 3]), expertBias: nil,
                                  attention: constantMLP(inputs: 4, hidden: 4, logits: [1, 0]),
                                  routing: .softmax, temperature: 1, geometry: geometry)
        let x = rng.tensor([1, 4, 7, 7])
        let pi = Probability.softmax([1, 0])
        var reference = staticEquivalent(layer, weights: pi)
        reference.bias = nil
        #expect(maxDifference(run(layer, x).output, run(reference, x).output) < 1e-5)
        layer.expertBias = Tensor(zeros: [2, 5])
        #expect(shapeError(layer, [[1, 4, 7, 7]]) == "dynamic_conv2d bias has shape [2, 5], expected [2, 6]")
    }

    @Test func shapeErrors() {
        var rng = TestRandom(seed: 10)
        let layer = randomLayer(&rng, k: 3)
        #expect(shapeError(layer, [[1, 3, 5, 5]]) == nil)
        #expect(shapeError(layer, [[1, 2, 5, 5]]) == "input has 2 channels, weight expects 3 (groups 1)")
        #expect(shapeError(layer, [[1, 3, 0, 5]]) != nil)
        var wrongK = layer
        wrongK.attention = randomMLP(&rng, inputs: 3, hidden: 4, outputs: 2)
        #expect(shapeError(wrongK, [[1, 3, 5, 5]]) == "dynamic_conv2d fc2_weight has shape [2, 4], expected [3, 4]")
        var wrongIn = layer
        wrongIn.attention = randomMLP(&rng, inputs: 5, hidden: 4, outputs: 3)
        #expect(shapeError(wrongIn, [[1, 3, 5, 5]]) == "dynamic_conv2d input has 3 channels, fc1_weight expects 5")
        var flat = layer
        flat.experts = Tensor(zeros: [12, 3, 3, 3])
        #expect(shapeError(flat, [[1, 3, 5, 5]])?.contains("[K, out, in/groups, kh, kw]") == true)
    }

    @Test func costAddsAggregationAndAttention() {
        // K=4 experts of [8, 3, 3, 3] with bias, attention 3 -> 4 -> 4, input 3 x 10 x 10, padding 1.
        var rng = TestRandom(seed: 12)
        let layer = DynamicConv2d(experts: rng.tensor([4, 8, 3, 3, 3]), expertBias: rng.tensor([4, 8]),
                                  attention: randomMLP(&rng, inputs: 3, hidden: 4, outputs: 4),
                                  routing: .softmax, temperature: 1, geometry: padded)
        let convolution = 8 * 10 * 10 * 27
        let aggregation = 4 * (8 * 27 + 8)
        let attention = 3 * 100 + 3 * 4 + 4 * 4
        let parameters = 4 * 8 * 27 + 32 + (12 + 4 + 16 + 4)
        #expect(layer.cost(for: [[2, 3, 10, 10]]) == OpCost(parameters: parameters, macs: convolution + aggregation + attention))
    }

    @Test func foldingBatchNormIntoExpertsIsExactUnderSoftmax() {
        var rng = TestRandom(seed: 13)
        let bn = randomBatchNorm(&rng, channels: 4)
        let x = rng.tensor([2, 3, 6, 6])
        for withBias in [true, false] {
            var layer = randomLayer(&rng, k: 3, attentionScale: 2)
            if !withBias { layer.expertBias = nil }
            let separate = run(bn, run(layer, x).output).output
            let folded = layer.folding(bn)
            #expect(folded.expertBias?.shape == [3, 4])
            #expect(maxDifference(separate, run(folded, x).output) < 1e-5)
        }
    }
}
