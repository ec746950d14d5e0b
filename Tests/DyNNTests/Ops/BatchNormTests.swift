import Testing
@testable import DyNN

@Suite struct BatchNormTests {
    let bn = BatchNorm(gamma: tensor([2], [2, 0.5]), beta: tensor([2], [1, -1]),
                       mean: tensor([2], [3, 0]), variance: tensor([2], [3.99999, 0.24999]), eps: 1e-5)

    @Test func normalisesEachChannelWithItsOwnStatistics() {
        // channel 0: (x - 3) / 2 * 2 + 1 = x - 2; channel 1: x / 0.5 * 0.5 - 1 = x - 1.
        let y = run(bn, tensor([1, 2, 1, 2], [3, 5, 4, 0])).output
        #expect(maxDifference(y, tensor([1, 2, 1, 2], [1, 3, 3, -1])) < 1e-5)
        let (scale, shift) = bn.scaleAndShift()
        #expect(maxDifference(scale, [1, 1]) < 1e-5)
        #expect(maxDifference(shift, [-2, -1]) < 1e-5)
    }

    @Test func acceptsFlatFeatures() {
        #expect(maxDifference(run(bn, tensor([2, 2], [3, 4, 5, 0])).output, tensor([2, 2], [1, 3, 3, -1])) < 1e-5)
    }

    @Test func shapeErrorsAndCost() {
        #expect(shapeError(bn, [[1, 3, 4, 4]]) == "batch_norm input has 3 channels, expected 2")
        #expect(shapeError(bn, [[4]]) != nil)
        var short = bn
        short.variance = tensor([1], [1])
        #expect(shapeError(short, [[1, 2, 4, 4]]) == "batch_norm running_var has shape [1], expected [2]")
        #expect(bn.cost(for: [[1, 2, 4, 4]]) == OpCost(parameters: 8, macs: 0))
    }
}
