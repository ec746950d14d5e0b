import Testing
@testable import DyNN

@Suite struct TensorTests {
    @Test func reshapeKeepsValues() {
        let t = Tensor(shape: [2, 3], data: [1, 2, 3, 4, 5, 6])
        let r = t.reshaped([3, 2])
        #expect(r.shape == [3, 2])
        #expect(r.data == t.data)
        #expect(Tensor(zeros: [2, 0, 4]).count == 0)
    }
}
