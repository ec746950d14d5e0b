import DyNN

/// The k best classes of one sample, with the model's label when it has one.
struct TopKEntry: Sendable, Equatable {
    var index: Int
    var label: String?
    var score: Float
}

enum TopK {
    /// Per sample, the `k` highest scores of a `[N, C]` output, best first (DyNN's ranking), with
    /// labels attached. Nil when the output is not two-dimensional, so there are no classes.
    static func compute(_ output: Tensor, k: Int, labels: [String]?) -> [[TopKEntry]]? {
        guard output.rank == 2 else { return nil }
        return output.topK(k).map { row in
            row.map { r in
                TopKEntry(index: r.index, label: labels.flatMap { r.index < $0.count ? $0[r.index] : nil }, score: r.score)
            }
        }
    }
}
