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
        return data.withUnsafeBufferPointer { all in
            (0..<rows).map { row in Self.best(k, of: UnsafeBufferPointer(rebasing: all[(row * columns)..<((row + 1) * columns)])) }
        }
    }

    private static let selectionMaxK = 32

    /// The `k` best of `scores` by one pass that keeps them sorted (a served request asks for a few of
    /// a thousand classes, where sorting them all would cost more than the rest of its answer). Walking
    /// in index order, a later equal score never displaces an earlier one, so ties keep the lower index.
    private static func best(_ k: Int, of scores: UnsafeBufferPointer<Float>) -> [Ranked] {
        // Inserting is linear in k: for many of the classes, one sort is cheaper.
        if k > selectionMaxK {
            let order = scores.indices.sorted { scores[$0] != scores[$1] ? scores[$0] > scores[$1] : $0 < $1 }
            return order.prefix(k).map { Ranked(index: $0, score: scores[$0]) }
        }
        var kept: [Ranked] = []
        kept.reserveCapacity(min(k, scores.count))
        for (index, score) in scores.enumerated() {
            if kept.count == k {
                guard score > kept[k - 1].score else { continue }
                kept.removeLast()
            }
            var at = kept.count
            while at > 0 && score > kept[at - 1].score { at -= 1 }
            kept.insert(Ranked(index: index, score: score), at: at)
        }
        return kept
    }
}
