/// The k best classes of one sample.
public struct Ranked: Sendable, Equatable {
    public var index: Int
    public var score: Float
    public init(index: Int, score: Float) {
        self.index = index
        self.score = score
    }
}

extension Tensor {
    /// For a `[N, classes]` tensor, the `k` highest scores of each row, best first; ties keep the lower index.
    public func topK(_ k: Int) -> [[Ranked]] {
        guard rank == 2, k > 0 else { return [] }
        let rows = shape[0], columns = shape[1]
        return (0..<rows).map { row in
            let scores = data[(row * columns)..<((row + 1) * columns)]
            let order = scores.indices.sorted { lhs, rhs in
                scores[lhs] != scores[rhs] ? scores[lhs] > scores[rhs] : lhs < rhs
            }
            return order.prefix(k).map { Ranked(index: $0 - row * columns, score: scores[$0]) }
        }
    }
}
