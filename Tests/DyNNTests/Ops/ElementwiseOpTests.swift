import Foundation
import Testing
@testable import DyNN

@Suite struct ElementwiseOpTests {
    let x = tensor([1, 6], [-4, -1, 0, 1, 4, 7])

    @Test func activations() {
        #expect(run(Activation(.relu), x).output.data == [0, 0, 0, 1, 4, 7])
        #expect(run(Activation(.relu6), x).output.data == [0, 0, 0, 1, 4, 6])
        // x * relu6(x + 3) / 6
        let hardSwish = run(Activation(.hardSwish), x).output.data
        #expect(maxDifference(hardSwish, [0, -1.0 / 3, 0, 2.0 / 3, 4, 7]) < 1e-6)
        let sigmoid = run(Activation(.sigmoid), x).output.data
        #expect(maxDifference(sigmoid, x.data.map { 1 / (1 + exp(-$0)) }) < 1e-6)
        #expect(Activation(.hardSwish).opName == "hard_swish")
    }

    @Test func siluAndHardSigmoid() {
        // x * sigmoid(x)
        let silu = run(Activation(.silu), x).output.data
        #expect(maxDifference(silu, x.data.map { $0 / (1 + exp(-$0)) }) < 1e-6)
        #expect(silu[2] == 0)
        // relu6(x + 3) / 6: -4 -> 0, -1 -> 2/6, 0 -> 1/2, 1 -> 4/6, 4 and 7 saturate at 1.
        let hardSigmoid = run(Activation(.hardSigmoid), x).output.data
        #expect(maxDifference(hardSigmoid, [0, 1.0 / 3, 0.5, 2.0 / 3, 1, 1]) < 1e-7)
        #expect(Activation(.silu).opName == "silu")
        #expect(Activation(.hardSigmoid).opName == "hard_sigmoid")
        // Huge inputs stay finite: silu(-1000) = -1000 * sigmoid(-1000) = -0.
        #expect(run(Activation(.silu), tensor([1, 2], [-1000, 1000])).output.data == [0, 1000])
    }

    @Test func sigmoidStaysFiniteForHugeInputs() {
        let y = run(Activation(.sigmoid), tensor([1, 2], [-1000, 1000])).output.data
        #expect(y == [0, 1])
    }

    @Test func normalizeUsesPerChannelStatistics() {
        let op = Normalize(mean: [1, 10], std: [2, 0.5])
        let y = run(op, tensor([1, 2, 1, 2], [3, 5, 10, 11])).output
        #expect(y == tensor([1, 2, 1, 2], [1, 2, 0, 2]))
        #expect(shapeError(op, [[1, 3, 2, 2]]) == "normalize input has 3 channels, mean/std have 2")
        #expect(shapeError(Normalize(mean: [0], std: [0]), [[1, 1, 2, 2]]) != nil)
        #expect(shapeError(Normalize(mean: [0, 1], std: [1]), [[1, 2, 2, 2]]) != nil)
    }

    @Test func addSumsEqualShapes() {
        let y = run(Add(), tensor([1, 2], [1, 2]), tensor([1, 2], [10, 20])).output
        #expect(y == tensor([1, 2], [11, 22]))
        #expect(shapeError(Add(), [[1, 2], [2, 1]]) == "add needs equal shapes, got [1, 2] and [2, 1]")
        #expect(shapeError(Add(), [[1, 2]]) == "add takes 2 inputs, got 1")
        #expect(Add().arity == 2)
    }

    @Test func globalAveragePoolAveragesEachPlane() {
        let y = run(GlobalAvgPool(), iota([2, 2, 2, 2])).output
        #expect(y == tensor([2, 2, 1, 1], [1.5, 5.5, 9.5, 13.5]))
        #expect(shapeError(GlobalAvgPool(), [[2, 8]]) != nil)
    }

    @Test func flattenKeepsTheBatch() throws {
        let y = run(Flatten(), iota([2, 3, 2, 1])).output
        #expect(y.shape == [2, 6])
        #expect(y.data == iota([12]).data)
        #expect(shapeError(Flatten(), [[5]]) != nil)
    }

    @Test func linearIsXTimesWTransposedPlusBias() {
        let op = Linear(weight: tensor([3, 2], [1, 2, 3, 4, 5, 6]), bias: tensor([3], [0, 1, -1]))
        let y = run(op, tensor([2, 2], [1, 1, 2, -1])).output
        // [1, 1] -> (3, 7 + 1, 11 - 1); [2, -1] -> (0, 2 + 1, 4 - 1)
        #expect(y == tensor([2, 3], [3, 8, 10, 0, 3, 3]))
        #expect(shapeError(op, [[2, 3]]) == "linear input has 3 features, weight expects 2")
        #expect(shapeError(op, [[2, 2, 1, 1]]) != nil)
        #expect(op.cost(for: [[2, 2]]) == OpCost(parameters: 9, macs: 6))
        let noBias = Linear(weight: tensor([1, 2], [1, -1]), bias: nil)
        #expect(run(noBias, tensor([1, 2], [5, 3])).output.data == [2])
    }

    @Test func softmaxIsStableAndSumsToOne() {
        let y = run(Softmax(), tensor([2, 2], [1000, 1001, -5, -5])).output.data
        let e = 1 / (1 + exp(Float(1)))
        #expect(maxDifference(y, [e, 1 - e, 0.5, 0.5]) < 1e-6)
    }

    @Test func softmaxOverAnInnerOrNegativeAxis() {
        // [1, 2, 2]: softmax over axis 1 pairs elements 2 apart.
        let x = tensor([1, 2, 2], [0, 0, log(3), 0])
        let y = run(Softmax(axis: 1), x).output.data
        #expect(maxDifference(y, [0.25, 0.5, 0.75, 0.5]) < 1e-6)
        let last = run(Softmax(axis: -1), x).output.data
        #expect(maxDifference(last, [0.5, 0.5, 0.75, 0.25]) < 1e-6)
        #expect(shapeError(Softmax(axis: 3), [[1, 2, 2]]) == "softmax axis 3 out of range for an input of rank 3 ([1, 2, 2])")
    }

    @Test func entropyHelper() {
        #expect(Probability.entropy([1, 0, 0]) == 0)
        #expect(abs(Probability.entropy([0.5, 0.5]) - log(2)) < 1e-6)
        // Normalised first: (2, 2) is the same distribution as (0.5, 0.5).
        #expect(abs(Probability.entropy([2, 2]) - log(2)) < 1e-6)
        #expect(Probability.entropy([0, 0]) == 0)
    }
}
