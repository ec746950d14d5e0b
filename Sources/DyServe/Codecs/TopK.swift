import DyNN

/// The k best classes of one sample.
struct TopKEntry: Sendable, Equatable {
    var index: Int
    var label: String?
    var score: Float
}

enum TopK {
    /// Per sample, the `k` highest scores of a `[N, C]` output, best first (ties: lower index
    /// first; NaN ranks last). Nil when the output is not two-dimensional.
    static func compute(_ output: Tensor, k: Int, labels: [String]?) -> [[TopKEntry]]? {
        guard output.rank == 2 else { return nil }
        let n = output.shape[0], c = output.shape[1]
        let take = min(k, c)
        return (0..<n).map { sample in
            let row = output.data[(sample * c)..<((sample + 1) * c)]
            let ranked = row.indices.sorted { a, b in
                let x = row[a], y = row[b]
                if x.isNaN != y.isNaN { return y.isNaN }
                if x != y && !x.isNaN { return x > y }
                return a < b
            }
            return ranked.prefix(take).map { i in
                let index = i - sample * c
                let label = labels.flatMap { index < $0.count ? $0[index] : nil }
                return TopKEntry(index: index, label: label, score: row[i])
            }
        }
    }
}
