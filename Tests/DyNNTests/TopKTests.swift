import Testing
import DyNN

@Suite struct TopKTests {
    @Test func ranksEachRowBestFirst() {
        let t = Tensor(shape: [2, 4], data: [0.1, 0.5, 0.3, 0.1,
                                             0.7, 0.0, 0.2, 0.1])
        let top = t.topK(2)
        #expect(top == [[Ranked(index: 1, score: 0.5), Ranked(index: 2, score: 0.3)],
                        [Ranked(index: 0, score: 0.7), Ranked(index: 2, score: 0.2)]])
    }

    @Test func tiesKeepLowerIndexAndKIsCapped() {
        let t = Tensor(shape: [1, 3], data: [0.2, 0.4, 0.4])
        #expect(t.topK(10).map { $0.map(\.index) } == [[1, 2, 0]])
    }

    @Test func nonMatrixGivesNothing() {
        #expect(Tensor(shape: [3], data: [1, 2, 3]).topK(1).isEmpty)
    }

    /// The one-pass selection (small k) and the sort (large k) against a plain sort of every class, on
    /// rows with many ties (scores drawn from a few values).
    @Test(arguments: [1, 5, 32, 33, 200])
    func agreesWithSortingEveryClass(k: Int) {
        var generator = SystemRandomNumberGenerator()
        let rows = 3, columns = 150
        let data = (0..<(rows * columns)).map { _ in Float(Int.random(in: 0..<20, using: &generator)) / 4 }
        let expected = (0..<rows).map { row in
            (0..<columns).map { Ranked(index: $0, score: data[row * columns + $0]) }
                .sorted { $0.score != $1.score ? $0.score > $1.score : $0.index < $1.index }
                .prefix(k).map { $0 }
        }
        #expect(Tensor(shape: [rows, columns], data: data).topK(k) == expected)
    }
}
