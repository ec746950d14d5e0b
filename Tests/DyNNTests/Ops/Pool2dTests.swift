import Testing
@testable import DyNN

@Suite struct Pool2dTests {
    func pool(_ kind: PoolKind, k: Int, s: Int, pad: (Int, Int, Int, Int) = (0, 0, 0, 0), countIncludePad: Bool = true) -> Pool2d {
        Pool2d(kind: kind, geometry: ConvGeometry(kernelH: k, kernelW: k, strideH: s, strideW: s,
                                                  padTop: pad.0, padLeft: pad.1, padBottom: pad.2, padRight: pad.3),
               countIncludePad: countIncludePad)
    }

    @Test func maxAndAverageOfBlocks() {
        let x = iota([1, 1, 4, 4])
        #expect(run(pool(.max, k: 2, s: 2), x).output == tensor([1, 1, 2, 2], [5, 7, 13, 15]))
        #expect(run(pool(.average, k: 2, s: 2), x).output == tensor([1, 1, 2, 2], [2.5, 4.5, 10.5, 12.5]))
        #expect(pool(.max, k: 2, s: 2).opName == "max_pool2d")
        #expect(pool(.average, k: 2, s: 2).opName == "avg_pool2d")
    }

    @Test func paddingNeverWinsTheMax() {
        // All values negative: a zero from padding would win if it were counted.
        let x = tensor([1, 1, 2, 2], [-1, -2, -3, -4])
        let y = run(pool(.max, k: 3, s: 2, pad: (1, 1, 1, 1)), x).output
        #expect(y == tensor([1, 1, 1, 1], [-1]))
    }

    @Test func averageCountsPaddingOnlyWhenAsked() {
        // 2x2 input [1 2; 3 4], 3x3 windows, padding 1, stride 1: every window holds all four values.
        let x = tensor([1, 1, 2, 2], [1, 2, 3, 4])
        let including = run(pool(.average, k: 3, s: 1, pad: (1, 1, 1, 1)), x).output
        #expect(maxDifference(including, tensor([1, 1, 2, 2], [Float](repeating: 10.0 / 9, count: 4))) < 1e-6)
        let excluding = run(pool(.average, k: 3, s: 1, pad: (1, 1, 1, 1), countIncludePad: false), x).output
        #expect(maxDifference(excluding, tensor([1, 1, 2, 2], [2.5, 2.5, 2.5, 2.5])) < 1e-6)

        // Asymmetric: pad only top/left by 1 with 2x2 windows on a 2x2 input.
        let corner = run(pool(.average, k: 2, s: 1, pad: (1, 1, 0, 0), countIncludePad: false), x).output
        #expect(maxDifference(corner, tensor([1, 1, 2, 2], [1, 1.5, 2, 2.5])) < 1e-6)
        let cornerIncluding = run(pool(.average, k: 2, s: 1, pad: (1, 1, 0, 0)), x).output
        #expect(maxDifference(cornerIncluding, tensor([1, 1, 2, 2], [0.25, 0.75, 1, 2.5])) < 1e-6)
    }

    @Test func poolsEveryChannelAndSampleSeparately() {
        let x = iota([2, 3, 2, 2])
        let y = run(pool(.max, k: 2, s: 2), x).output
        #expect(y == tensor([2, 3, 1, 1], [3, 7, 11, 15, 19, 23]))
    }

    @Test func shapeErrors() throws {
        #expect(try pool(.max, k: 3, s: 2, pad: (1, 1, 1, 1)).outputShape(for: [[1, 8, 112, 112]]) == [1, 8, 56, 56])
        #expect(shapeError(pool(.max, k: 3, s: 1, pad: (3, 0, 0, 0)), [[1, 1, 8, 8]])?.contains("smaller than kernel") == true)
        #expect(shapeError(pool(.average, k: 5, s: 1), [[1, 1, 4, 4]]) == "avg_pool2d kernel 5x5 larger than padded input 4x4")
        var dilated = pool(.max, k: 2, s: 2)
        dilated.geometry.dilationH = 2
        #expect(shapeError(dilated, [[1, 1, 8, 8]]) == "max_pool2d takes no dilation or groups")
        #expect(shapeError(pool(.max, k: 2, s: 2), [[1, 8, 8]]) != nil)
        #expect(pool(.max, k: 2, s: 2).cost(for: [[1, 1, 8, 8]]) == OpCost(parameters: 0, macs: 0))
    }
}
