import Testing
@testable import DyNN

@Suite struct Conv2dTests {
    func conv(_ weight: Tensor, bias: Tensor? = nil, _ geometry: ConvGeometry) -> Conv2d {
        Conv2d(weight: weight, bias: bias, geometry: geometry)
    }

    @Test func valid2x2OfOnesSumsEachWindow() {
        let op = conv(tensor([1, 1, 2, 2], [1, 1, 1, 1]), ConvGeometry(kernelH: 2, kernelW: 2))
        let y = run(op, tensor([1, 1, 3, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9])).output
        #expect(y == tensor([1, 1, 2, 2], [12, 16, 24, 28]))
    }

    @Test func asymmetricPaddingPadsOnlyTheNamedSides() {
        // 1x1 identity kernel, one row of padding on top and one column on the right.
        let identity = conv(tensor([1, 1, 1, 1], [1]),
                            ConvGeometry(kernelH: 1, kernelW: 1, padTop: 1, padRight: 1))
        let x = tensor([1, 1, 2, 2], [1, 2, 3, 4])
        #expect(run(identity, x).output == tensor([1, 1, 3, 3], [0, 0, 0, 1, 2, 0, 3, 4, 0]))

        // 2x2 kernel [[1, 2], [3, 4]], padding top 1 and left 1 only: a 2x2 output.
        let op = conv(tensor([1, 1, 2, 2], [1, 2, 3, 4]),
                      ConvGeometry(kernelH: 2, kernelW: 2, padTop: 1, padLeft: 1))
        #expect(run(op, x).output == tensor([1, 1, 2, 2], [4, 11, 14, 30]))
    }

    @Test func strideTwoSkipsWindows() {
        let x = iota([1, 1, 4, 4])
        let scale = conv(tensor([1, 1, 1, 1], [2]), ConvGeometry(kernelH: 1, kernelW: 1, strideH: 2, strideW: 2))
        #expect(run(scale, x).output == tensor([1, 1, 2, 2], [0, 4, 16, 20]))
        let blocks = conv(tensor([1, 1, 2, 2], [1, 1, 1, 1]), ConvGeometry(kernelH: 2, kernelW: 2, strideH: 2, strideW: 2))
        #expect(run(blocks, x).output == tensor([1, 1, 2, 2], [10, 18, 42, 50]))
    }

    @Test func dilationSpreadsTheTaps() {
        let op = conv(tensor([1, 1, 2, 2], [1, 1, 1, 1]), ConvGeometry(kernelH: 2, kernelW: 2, dilationH: 2, dilationW: 2))
        #expect(run(op, iota([1, 1, 4, 4])).output == tensor([1, 1, 2, 2], [20, 24, 36, 40]))
    }

    @Test func groupsSeeOnlyTheirOwnChannels() {
        // groups 2: output 0 = x0 + x1, output 1 = x2 - x3, plus bias.
        let op = conv(tensor([2, 2, 1, 1], [1, 1, 1, -1]), bias: tensor([2], [10, 20]),
                      ConvGeometry(kernelH: 1, kernelW: 1, groups: 2))
        #expect(run(op, tensor([1, 4, 1, 1], [1, 2, 3, 4])).output == tensor([1, 2, 1, 1], [13, 19]))
    }

    @Test func depthwiseFiltersEachChannelAlone() {
        // 3x3 box filters with padding 1 over a 2x2 plane: every window covers the whole plane.
        let weight = tensor([2, 1, 3, 3], [Float](repeating: 1, count: 9) + [Float](repeating: 2, count: 9))
        let op = conv(weight, ConvGeometry(kernelH: 3, kernelW: 3, padTop: 1, padLeft: 1, padBottom: 1, padRight: 1, groups: 2))
        let y = run(op, tensor([1, 2, 2, 2], [1, 2, 3, 4, 1, 1, 1, 1])).output
        #expect(y == tensor([1, 2, 2, 2], [10, 10, 10, 10, 8, 8, 8, 8]))
    }

    /// The vectorised kernel against the textbook loop over geometries that exercise every
    /// range computation: strides, dilations, asymmetric padding, groups, batches, 1x1 fast path.
    @Test(arguments: [
        ConvGeometry(kernelH: 1, kernelW: 1),
        ConvGeometry(kernelH: 3, kernelW: 3, padTop: 1, padLeft: 1, padBottom: 1, padRight: 1),
        ConvGeometry(kernelH: 3, kernelW: 2, strideH: 2, strideW: 3, padTop: 2, padLeft: 0, padBottom: 1, padRight: 1),
        ConvGeometry(kernelH: 3, kernelW: 3, strideH: 2, strideW: 2, padTop: 0, padLeft: 1, padBottom: 1, padRight: 0, groups: 2),
        ConvGeometry(kernelH: 3, kernelW: 3, padTop: 2, padLeft: 2, padBottom: 2, padRight: 2, dilationH: 2, dilationW: 2),
        ConvGeometry(kernelH: 5, kernelW: 5, strideH: 2, strideW: 2, padTop: 2, padLeft: 2, padBottom: 2, padRight: 2, groups: 4),
        ConvGeometry(kernelH: 1, kernelW: 1, strideH: 2, strideW: 2),
        ConvGeometry(kernelH: 2, kernelW: 3, padTop: 3, padLeft: 4, padBottom: 0, padRight: 0, dilationH: 3, dilationW: 1),
    ])
    func agreesWithTextbookConvolution(geometry: ConvGeometry) throws {
        var rng = TestRandom(seed: 11)
        let (inChannels, outChannels) = (4, 8)
        let weight = rng.tensor([outChannels, inChannels / geometry.groups, geometry.kernelH, geometry.kernelW])
        let bias = rng.tensor([outChannels])
        let x = rng.tensor([2, inChannels, 7, 9])
        let op = conv(weight, bias: bias, geometry)
        let y = run(op, x).output
        let expected = naiveConvolution(x, weight: weight, bias: bias, geometry: geometry)
        #expect(try op.outputShape(for: [x.shape]) == expected.shape)
        #expect(maxDifference(y, expected) < 1e-5)
    }

    @Test func outputShapeFollowsTheFormula() throws {
        // floor((224 + 0 + 1 - 2*(3-1) - 1) / 2) + 1 = 111
        let g = ConvGeometry(kernelH: 3, kernelW: 3, strideH: 2, strideW: 2, padBottom: 1, dilationH: 2, dilationW: 1)
        let op = conv(Tensor(zeros: [16, 3, 3, 3]), g)
        #expect(try op.outputShape(for: [[5, 3, 224, 224]]) == [5, 16, 111, 111])
    }

    @Test func shapeErrorsSayWhatIsWrong() {
        let op = conv(Tensor(zeros: [8, 4, 3, 3]), ConvGeometry(kernelH: 3, kernelW: 3))
        #expect(shapeError(op, [[1, 3, 8, 8]]) == "input has 3 channels, weight expects 4 (groups 1)")
        #expect(shapeError(op, [[1, 4, 8, 8]]) == nil)
        #expect(shapeError(op, [[4, 8, 8]])?.contains("[N, C, H, W]") == true)
        #expect(shapeError(op, [[1, 4, 8, 8], [1, 4, 8, 8]]) == "conv2d takes 1 input, got 2")
        #expect(shapeError(op, [[1, 4, 2, 8]]) == "conv2d kernel 3x3 larger than padded input 2x8")

        let dilated = conv(Tensor(zeros: [8, 4, 3, 3]), ConvGeometry(kernelH: 3, kernelW: 3, dilationH: 2, dilationW: 2))
        #expect(shapeError(dilated, [[1, 4, 3, 3]]) == "conv2d kernel 5x5 (dilated) larger than padded input 3x3")

        let grouped = conv(Tensor(zeros: [6, 2, 3, 3]), ConvGeometry(kernelH: 3, kernelW: 3, groups: 3))
        #expect(shapeError(grouped, [[1, 6, 8, 8]]) == nil)
        #expect(shapeError(grouped, [[1, 4, 8, 8]]) == "conv2d input channels 4 not divisible by groups 3")
        #expect(shapeError(grouped, [[1, 9, 8, 8]]) == "input has 9 channels, weight expects 6 (groups 3)")

        let badBias = conv(Tensor(zeros: [8, 4, 3, 3]), bias: Tensor(zeros: [7]), ConvGeometry(kernelH: 3, kernelW: 3))
        #expect(shapeError(badBias, [[1, 4, 8, 8]]) == "conv2d bias has shape [7], expected [8]")

        let badKernel = conv(Tensor(zeros: [8, 4, 3, 3]), ConvGeometry(kernelH: 5, kernelW: 5))
        #expect(shapeError(badKernel, [[1, 4, 8, 8]])?.contains("disagrees with kernel_size 5x5") == true)
        let zeroStride = conv(Tensor(zeros: [8, 4, 3, 3]), ConvGeometry(kernelH: 3, kernelW: 3, strideH: 0))
        #expect(shapeError(zeroStride, [[1, 4, 8, 8]])?.contains("stride") == true)
        let negativePad = conv(Tensor(zeros: [8, 4, 3, 3]), ConvGeometry(kernelH: 3, kernelW: 3, padLeft: -1))
        #expect(shapeError(negativePad, [[1, 4, 8, 8]])?.contains("padding") == true)
    }

    @Test func costCountsMultiplyAddsPerSample() {
        // 32 x 112 x 112 outputs, each 3*3*3 MACs; 864 weights + 32 biases.
        let stem = conv(Tensor(zeros: [32, 3, 3, 3]), bias: Tensor(zeros: [32]),
                        ConvGeometry(kernelH: 3, kernelW: 3, strideH: 2, strideW: 2, padTop: 1, padLeft: 1, padBottom: 1, padRight: 1))
        #expect(stem.cost(for: [[8, 3, 224, 224]]) == OpCost(parameters: 896, macs: 32 * 112 * 112 * 27))
        // Depthwise: each output sees 1 channel.
        let depthwise = conv(Tensor(zeros: [16, 1, 3, 3]), ConvGeometry(kernelH: 3, kernelW: 3, padTop: 1, padLeft: 1, padBottom: 1, padRight: 1, groups: 16))
        #expect(depthwise.cost(for: [[1, 16, 10, 10]]) == OpCost(parameters: 144, macs: 16 * 100 * 9))
    }

    @Test func foldingBatchNormEqualsApplyingItAfter() {
        var rng = TestRandom(seed: 5)
        let geometry = ConvGeometry(kernelH: 3, kernelW: 3, strideH: 2, strideW: 2, padTop: 1, padLeft: 1, padBottom: 1, padRight: 1)
        let bn = randomBatchNorm(&rng, channels: 6)
        let x = rng.tensor([2, 3, 9, 9])
        for bias in [rng.tensor([6]), nil] {
            let op = conv(rng.tensor([6, 3, 3, 3]), bias: bias, geometry)
            let separate = run(bn, run(op, x).output).output
            let folded = run(op.folding(bn), x).output
            #expect(maxDifference(separate, folded) < 1e-5)
            #expect(op.folding(bn).bias?.shape == [6])
        }
    }
}
