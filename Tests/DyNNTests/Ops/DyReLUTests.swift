import Foundation
import Testing
@testable import DyNN

@Suite struct DyReLUTests {
    /// A DY-ReLU whose hyper network outputs exactly `logits` (all MLP weights zero).
    func layer(_ variant: DyReLUVariant, channels: Int, pieces: Int = 2, logits: [Float],
               layout: CoefficientLayout = .paper, squash: Squash = .sigmoid,
               lambdaA: Float = 1, lambdaB: Float = 0.5, alpha: [Float]? = nil, beta: [Float]? = nil,
               spatial: SpatialAttention? = nil) -> DyReLU {
        DyReLU(variant: variant, pieces: pieces, hyper: constantMLP(inputs: channels, hidden: 4, logits: logits),
               layout: layout, squash: squash, lambdaA: lambdaA, lambdaB: lambdaB,
               alpha: alpha ?? [1] + [Float](repeating: 0, count: pieces - 1),
               beta: beta ?? [Float](repeating: 0, count: pieces), spatial: spatial)
    }

    func zeroSpatial(channels: Int, gamma: Float? = nil) -> SpatialAttention {
        SpatialAttention(weight: Tensor(zeros: [channels]), bias: 0, tau: 10, gamma: gamma)
    }

    @Test(arguments: [Squash.sigmoid, .hardSigmoid])
    func squashMapsZeroToZeroAndSaturatesAtOne(squash: Squash) {
        #expect(squash(0) == 0)
        #expect(abs(squash(40) - 1) < 1e-6)
        #expect(abs(squash(-40) + 1) < 1e-6)
    }

    @Test func sigmoidAndHardSigmoidSquashDiffer() {
        // 2 sigmoid(1) - 1 = tanh(1/2); 2 relu6(1 + 3) / 6 - 1 = 1/3.
        #expect(abs(Squash.sigmoid(1) - tanh(0.5)) < 1e-6)
        #expect(abs(Squash.hardSigmoid(1) - 1.0 / 3) < 1e-6)
        #expect(Squash.hardSigmoid(3) == 1)
        #expect(Squash.hardSigmoid(-3) == -1)
        #expect(abs(Squash.hardSigmoid(-1.5) + 0.5) < 1e-6)
    }

    /// With zero residuals the coefficients are alpha = (1, 0), beta = (0, 0): max(x, 0).
    @Test(arguments: [DyReLUVariant.a, .b, .c], [Squash.sigmoid, .hardSigmoid])
    func zeroHyperNetworkIsReLU(variant: DyReLUVariant, squash: Squash) {
        var rng = TestRandom(seed: 20)
        let channels = 3
        let outputs = 2 * 2 * (variant == .a ? 1 : channels)
        // gamma = H*W makes the uniform spatial map exactly 1.
        let op = layer(variant, channels: channels, logits: [Float](repeating: 0, count: outputs), squash: squash,
                       spatial: variant == .c ? zeroSpatial(channels: channels, gamma: 20) : nil)
        let x = rng.tensor([2, channels, 4, 5])
        let y = run(op, x).output
        #expect(maxDifference(y, Tensor(shape: x.shape, data: x.data.map { max($0, 0) })) < 1e-6)
    }

    @Test func defaultGammaScalesAUniformMapToOneThird() throws {
        var rng = TestRandom(seed: 21)
        let op = layer(.c, channels: 2, logits: [Float](repeating: 0, count: 8), spatial: zeroSpatial(channels: 2))
        let x = rng.tensor([1, 2, 3, 4])
        let result = run(op, x, options: RunOptions(trace: .full))
        #expect(maxDifference(result.output, Tensor(shape: x.shape, data: x.data.map { max($0, 0) / 3 })) < 1e-6)
        let activation = try #require(result.trace?.activation)
        #expect(activation.height == 3 && activation.width == 4)
        #expect(maxDifference(try #require(activation.spatial)[0], [Float](repeating: 1.0 / 3, count: 12)) < 1e-6)
    }

    /// Logits `1, 2, ..., 12` / 10 through the hard sigmoid (linear on [-3, 3]) give residuals
    /// theta_i = (i + 1) / 30, each distinguishable; lambdas 1 and alpha = beta = 0 expose them as a, b.
    func distinguishable(_ count: Int) -> (logits: [Float], theta: [Float]) {
        let logits = (0..<count).map { Float($0 + 1) / 10 }
        return (logits, logits.map { $0 / 3 })
    }

    @Test(arguments: [
        // a[k * C + c] and b[k * C + c] as indices into theta, for K = 2, C = 3.
        (CoefficientLayout.paper, [0, 1, 2, 3, 4, 5], [6, 7, 8, 9, 10, 11]),
        (.perChannel, [0, 4, 8, 1, 5, 9], [2, 6, 10, 3, 7, 11]),
        (.pairs, [0, 1, 2, 6, 7, 8], [3, 4, 5, 9, 10, 11]),
    ])
    func layoutReadsTheDocumentedIndices(layout: CoefficientLayout, aIndex: [Int], bIndex: [Int]) throws {
        let (logits, theta) = distinguishable(12)
        let op = layer(.b, channels: 3, logits: logits, layout: layout, squash: .hardSigmoid,
                       lambdaB: 1, alpha: [0, 0], beta: [0, 0])
        let x = tensor([1, 3, 1, 2], [-2, 5, -2, 5, -2, 5])
        let result = run(op, x, options: RunOptions(trace: .full))
        let activation = try #require(result.trace?.activation)
        #expect(activation.variant == "B" && activation.pieces == 2 && activation.channels == 3)
        #expect(maxDifference(activation.a[0], aIndex.map { theta[$0] }) < 1e-6)
        #expect(maxDifference(activation.b[0], bIndex.map { theta[$0] }) < 1e-6)
        #expect(activation.spatial == nil)
        // y_c = max_k (a^k_c x + b^k_c), computed from the documented indices.
        var expected: [Float] = []
        for c in 0..<3 {
            for v: Float in [-2, 5] {
                expected.append((0..<2).map { k in theta[aIndex[k * 3 + c]] * v + theta[bIndex[k * 3 + c]] }.max()!)
            }
        }
        #expect(maxDifference(result.output.data, expected) < 1e-6)
    }

    @Test(arguments: [
        // Variant A: the same rules with C = 1; one (a, b) set shared by every channel.
        (CoefficientLayout.paper, [0, 1], [2, 3]),
        (.perChannel, [0, 1], [2, 3]),
        (.pairs, [0, 2], [1, 3]),
    ])
    func variantASharesOneSetAcrossChannels(layout: CoefficientLayout, aIndex: [Int], bIndex: [Int]) throws {
        let (logits, theta) = distinguishable(4)
        let op = layer(.a, channels: 3, logits: logits, layout: layout, squash: .hardSigmoid,
                       lambdaA: 2, lambdaB: 1, alpha: [1, -1], beta: [0.5, 0])
        let x = tensor([1, 3, 1, 1], [-1, 2, 3])
        let result = run(op, x, options: RunOptions(trace: .full))
        let activation = try #require(result.trace?.activation)
        let a = [1 + 2 * theta[aIndex[0]], -1 + 2 * theta[aIndex[1]]]
        let b = [0.5 + theta[bIndex[0]], theta[bIndex[1]]]
        #expect(activation.channels == 1)
        #expect(maxDifference(activation.a[0], a) < 1e-6)
        #expect(maxDifference(activation.b[0], b) < 1e-6)
        let expected = x.data.map { v in max(a[0] * v + b[0], a[1] * v + b[1]) }
        #expect(maxDifference(result.output.data, expected) < 1e-6)
    }

    @Test func spatialMapIsCappedAndInUnitRange() throws {
        var rng = TestRandom(seed: 22)
        let channels = 4
        // A strong 1x1 conv and a small tau concentrate the softmax, so gamma * softmax exceeds 1.
        let spatial = SpatialAttention(weight: rng.tensor([channels], scale: 3), bias: 0.3, tau: 0.5)
        var rng2 = TestRandom(seed: 23)
        let op = DyReLU(variant: .c, pieces: 2, hyper: randomMLP(&rng2, inputs: channels, hidden: 4, outputs: 16),
                        layout: .paper, squash: .sigmoid, lambdaA: 1, lambdaB: 0.5, alpha: [1, 0], beta: [0, 0],
                        spatial: spatial)
        let x = rng.tensor([2, channels, 5, 6], scale: 2)
        let result = run(op, x, options: RunOptions(trace: .full))
        let activation = try #require(result.trace?.activation)
        let maps = try #require(activation.spatial)
        #expect(activation.variant == "C")
        #expect(maps.count == 2 && maps.allSatisfy { $0.count == 30 })
        for map in maps {
            #expect(map.allSatisfy { $0 >= 0 && $0 <= 1 })
            #expect(map.contains(1))  // capped
            #expect(map.reduce(0, +) <= 10 + 1e-4)  // at most gamma = 30 / 3
        }
        // The map multiplies the channel-wise result: undo it with variant B's coefficients.
        var asB = op
        asB.variant = .b
        asB.spatial = nil
        let unscaled = run(asB, x).output
        for n in 0..<2 {
            for c in 0..<channels {
                for i in 0..<30 {
                    let index = (n * channels + c) * 30 + i
                    #expect(abs(result.output.data[index] - unscaled.data[index] * maps[n][i]) < 1e-5)
                }
            }
        }
    }

    @Test func spatialLogitsUseTheOneByOneConvolution() throws {
        // z = 1 * x0 - 1 * x1 + 0; softmax over HW of z / tau; gamma 2.
        let spatial = SpatialAttention(weight: tensor([2], [1, -1]), bias: 0.25, tau: 2, gamma: 2)
        let op = layer(.c, channels: 2, logits: [Float](repeating: 0, count: 8), spatial: spatial)
        let x = tensor([1, 2, 1, 3], [1, 2, 3, 0, 1, 1])
        let map = try #require(run(op, x, options: RunOptions(trace: .full)).trace?.activation?.spatial?[0])
        let z: [Float] = [1.25, 1.25, 2.25]
        let e = z.map { exp($0 / 2) }
        let expected = e.map { min(2 * $0 / e.reduce(0, +), 1) }
        #expect(maxDifference(map, expected) < 1e-6)
    }

    @Test func tracesOnlyAtFullLevel() {
        var rng = TestRandom(seed: 24)
        let op = layer(.b, channels: 2, logits: [Float](repeating: 0, count: 8))
        let x = rng.tensor([1, 2, 3, 3])
        #expect(run(op, x).trace == nil)
        #expect(run(op, x, options: RunOptions(trace: .attention)).trace == nil)
        #expect(run(op, x, options: RunOptions(trace: .full)).trace?.op == "dy_relu")
    }

    @Test func moreThanTwoPieces() throws {
        // K = 3 with alpha (1, 0, -1): y = max(x, 0, -x) = |x| when the residuals vanish.
        var rng = TestRandom(seed: 25)
        let op = layer(.b, channels: 2, pieces: 3, logits: [Float](repeating: 0, count: 12),
                       alpha: [1, 0, -1], beta: [0, 0, 0])
        let x = rng.tensor([1, 2, 3, 3])
        #expect(maxDifference(run(op, x).output, Tensor(shape: x.shape, data: x.data.map(abs))) < 1e-6)
    }

    @Test func shapeErrors() {
        let b = layer(.b, channels: 3, logits: [Float](repeating: 0, count: 12))
        #expect(shapeError(b, [[1, 3, 4, 4]]) == nil)
        #expect(shapeError(b, [[1, 2, 4, 4]]) == "dy_relu (variant B) input has 2 channels, fc1_weight expects 3")
        #expect(shapeError(b, [[1, 3, 16]])?.contains("[N, C, H, W]") == true)

        let aWithBOutputs = layer(.a, channels: 3, logits: [Float](repeating: 0, count: 12))
        #expect(shapeError(aWithBOutputs, [[1, 3, 4, 4]]) == "dy_relu (variant A) fc2_weight has shape [12, 4], expected [4, 4]")

        let cWithoutSpatial = layer(.c, channels: 3, logits: [Float](repeating: 0, count: 12))
        #expect(shapeError(cWithoutSpatial, [[1, 3, 4, 4]])?.contains("spatial") == true)
        let cWrongSpatial = layer(.c, channels: 3, logits: [Float](repeating: 0, count: 12), spatial: zeroSpatial(channels: 2))
        #expect(shapeError(cWrongSpatial, [[1, 3, 4, 4]]) == "dy_relu input has 3 channels, spatial_weight has 2")
        let bWithSpatial = layer(.b, channels: 3, logits: [Float](repeating: 0, count: 12), spatial: zeroSpatial(channels: 3))
        #expect(shapeError(bWithSpatial, [[1, 3, 4, 4]]) != nil)

        let shortAlpha = layer(.b, channels: 3, logits: [Float](repeating: 0, count: 12), alpha: [1])
        #expect(shapeError(shortAlpha, [[1, 3, 4, 4]]) == "dy_relu has 2 pieces but 1 alpha and 2 beta values")
    }

    @Test func costCountsHyperPiecesAndSpatialBranch() {
        // C = 8, H x W = 5 x 5, hidden 4, K = 2.
        let (c, hw, hidden) = (8, 25, 4)
        let b = DyReLU(variant: .b, pieces: 2, hyper: constantMLP(inputs: c, hidden: hidden, logits: [Float](repeating: 0, count: 32)),
                       layout: .paper, squash: .sigmoid, lambdaA: 1, lambdaB: 0.5, alpha: [1, 0], beta: [0, 0], spatial: nil)
        let hyperParameters = hidden * c + hidden + 32 * hidden + 32
        let bMacs = c * hw + c * hidden + hidden * 32 + 2 * c * hw
        #expect(b.cost(for: [[1, c, 5, 5]]) == OpCost(parameters: hyperParameters, macs: bMacs))

        var cVariant = b
        cVariant.variant = .c
        cVariant.spatial = zeroSpatial(channels: c)
        #expect(cVariant.cost(for: [[1, c, 5, 5]]) == OpCost(parameters: hyperParameters + c + 1, macs: bMacs + c * hw))

        let a = layer(.a, channels: c, logits: [0, 0, 0, 0])
        #expect(a.cost(for: [[1, c, 5, 5]]) == OpCost(parameters: hidden * c + hidden + 4 * hidden + 4,
                                                      macs: c * hw + c * hidden + hidden * 4 + 2 * c * hw))
    }

    /// `bias: false`: the hyper function outputs K*C slopes only and every intercept is beta_k.
    /// Slopes (hard-sigmoid squash, lambda_a 1): a^0 = (1 + 1, 1 + 0) = (2, 1), a^1 = (0 - 1, 0 + 0.5) = (-1, 0.5).
    @Test(arguments: [(CoefficientLayout.perChannel, [Float]([3, -3, 0, 1.5])),
                      (.paper, [3, 0, -3, 1.5]), (.pairs, [3, 0, -3, 1.5])])
    func withoutInterceptsTheHyperFunctionOutputsSlopesOnly(layout: CoefficientLayout, logits: [Float]) throws {
        let op = DyReLU(variant: .b, pieces: 2, hyper: constantMLP(inputs: 2, hidden: 4, logits: logits), layout: layout,
                        squash: .hardSigmoid, lambdaA: 1, lambdaB: 0.5, alpha: [1, 0], beta: [0, 0.25], spatial: nil,
                        learnsIntercepts: false)
        // Channel 0: max(2x, -x + 0.25); channel 1: max(x, 0.5x + 0.25).
        let result = run(op, tensor([1, 2, 1, 2], [1, -2, 2, -1]), options: RunOptions(trace: .full))
        #expect(result.output == tensor([1, 2, 1, 2], [2, 2.25, 2, -0.25]))
        let activation = try #require(result.trace?.activation)
        #expect(activation.a == [[2, 1, -1, 0.5]])
        #expect(activation.b == [[0, 0, 0.25, 0.25]])
        #expect(shapeError(op, [[1, 2, 3, 3]]) == nil)
        #expect(shapeError(op, [[1, 3, 3, 3]]) != nil)
    }

    @Test func onePieceWithoutInterceptsIsALinearMap() {
        // Variant A, K = 1: a = 1 + squash(1.5) = 1.5, b = beta = 0.
        let op = DyReLU(variant: .a, pieces: 1, hyper: constantMLP(inputs: 2, hidden: 4, logits: [1.5]), layout: .paper,
                        squash: .hardSigmoid, lambdaA: 1, lambdaB: 0.5, alpha: [1], beta: [0], spatial: nil,
                        learnsIntercepts: false)
        #expect(run(op, tensor([1, 2, 1, 2], [1, -2, 2, -1])).output == tensor([1, 2, 1, 2], [1.5, -3, 3, -1.5]))
        // K = 1 with intercepts has 2 outputs; without, 1.
        #expect(op.hyperOutputs(channels: 2) == 1)
        #expect(shapeError(op, [[1, 2, 3, 3]]) == nil)
    }

    @Test func slopeIndicesWithoutIntercepts() {
        // K = 2, C = 3, a^1_2: paper and pairs k*C + c = 5, per_channel c*K + k = 5; with intercepts 5, 8, 9.
        #expect(CoefficientLayout.paper.slopeIndex(piece: 1, channel: 2, pieces: 2, channels: 3, intercepts: false) == 5)
        #expect(CoefficientLayout.pairs.slopeIndex(piece: 1, channel: 2, pieces: 2, channels: 3, intercepts: false) == 5)
        #expect(CoefficientLayout.perChannel.slopeIndex(piece: 1, channel: 2, pieces: 2, channels: 3, intercepts: false) == 5)
        #expect(CoefficientLayout.perChannel.slopeIndex(piece: 0, channel: 1, pieces: 2, channels: 3, intercepts: false) == 2)
        #expect(CoefficientLayout.paper.slopeIndex(piece: 1, channel: 2, pieces: 2, channels: 3) == 5)
        #expect(CoefficientLayout.pairs.slopeIndex(piece: 1, channel: 2, pieces: 2, channels: 3) == 8)
        #expect(CoefficientLayout.perChannel.slopeIndex(piece: 1, channel: 2, pieces: 2, channels: 3) == 9)
    }
}
