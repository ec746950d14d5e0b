import Testing
@testable import DyNN

@Suite struct MulTests {
    @Test func multipliesEqualShapes() {
        let y = run(Mul(), tensor([1, 3], [1, -2, 3]), tensor([1, 3], [4, 5, -0.5])).output
        #expect(y == tensor([1, 3], [4, -10, -1.5]))
    }

    /// Squeeze-and-excitation: one gate per (sample, channel), either operand order.
    @Test func broadcastsAChannelGateOverHeightAndWidth() {
        let x = iota([2, 2, 1, 2])  // [[0, 1], [2, 3]], [[4, 5], [6, 7]]
        let gate = tensor([2, 2, 1, 1], [2, -1, 0.5, 10])
        let expected = tensor([2, 2, 1, 2], [0, 2, -2, -3, 2, 2.5, 60, 70])
        #expect(run(Mul(), x, gate).output == expected)
        #expect(run(Mul(), gate, x).output == expected)
    }

    @Test func rejectsShapesThatDoNotBroadcast() throws {
        #expect(shapeError(Mul(), [[1, 2, 3, 3], [1, 3, 1, 1]])
                == "mul needs equal shapes, or [N, C, 1, 1] with [N, C, H, W] (same N and C), got [1, 2, 3, 3] and [1, 3, 1, 1]")
        // Another batch, a gate over W only, and ranks other than 4 do not broadcast.
        #expect(shapeError(Mul(), [[2, 2, 3, 3], [1, 2, 1, 1]]) != nil)
        #expect(shapeError(Mul(), [[1, 2, 3, 3], [1, 2, 3, 1]]) != nil)
        #expect(shapeError(Mul(), [[1, 2], [1, 2, 1, 1]]) != nil)
        #expect(shapeError(Mul(), [[1, 2]]) == "mul takes 2 inputs, got 1")
        #expect(try Mul().outputShape(for: [[1, 2, 1, 1], [1, 2, 3, 4]]) == [1, 2, 3, 4])
    }
}
