import Testing
import DyNN

@Suite struct SeededInputTests {
    @Test func sameSeedSameValuesInRange() {
        let a = Tensor.seededUniform(shape: [2, 3, 4], seed: 7)
        let b = Tensor.seededUniform(shape: [2, 3, 4], seed: 7)
        #expect(a == b)
        #expect(a.shape == [2, 3, 4])
        #expect(a.data.allSatisfy { $0 >= 0 && $0 < 1 })
        #expect(Set(a.data).count > 20)
    }

    @Test func differentSeedDifferentValues() {
        #expect(Tensor.seededUniform(shape: [16], seed: 1) != Tensor.seededUniform(shape: [16], seed: 2))
    }

    @Test func rangeIsRespected() {
        let t = Tensor.seededUniform(shape: [100], seed: 3, low: -2, high: -1)
        #expect(t.data.allSatisfy { $0 >= -2 && $0 <= -1 })
    }
}
