/// Where a forward pass's time goes, per node and phase, averaged over several profiled passes.
///
/// Built from per-pass `LayerTiming`s, as the fast engine's `runProfiled` returns them.
public struct LayerProfile: Sendable, Equatable, Codable {
    /// One node's phases in one pass, in nanoseconds: what `FastEngine.runProfiled` reports.
    public typealias Sample = LayerTiming

    /// Mean milliseconds per pass.
    public struct Row: Sendable, Equatable, Codable {
        public var name: String
        public var op: String
        public var attentionMs: Double
        public var aggregationMs: Double
        public var convolutionMs: Double
        public var activationMs: Double
        public var totalMs: Double

        enum CodingKeys: String, CodingKey {
            case name, op
            case attentionMs = "attention_ms"
            case aggregationMs = "aggregation_ms"
            case convolutionMs = "convolution_ms"
            case activationMs = "activation_ms"
            case totalMs = "total_ms"
        }
    }

    public var passes: Int
    /// Nodes in execution order.
    public var rows: [Row]
    /// Column sums over all nodes, named "total".
    public var total: Row

    /// nil when there are no passes, or when passes do not list the same nodes in the same order
    /// (averaging them would mix different layers).
    public init?(passes: [[Sample]]) {
        guard let first = passes.first, !first.isEmpty else { return nil }
        for pass in passes.dropFirst() {
            guard pass.count == first.count,
                  zip(pass, first).allSatisfy({ $0.name == $1.name && $0.op == $1.op }) else { return nil }
        }
        let count = Double(passes.count)
        // Summed in Double: a UInt64 sum of many long passes cannot overflow this way.
        func mean(_ node: Int, _ phase: KeyPath<Sample, UInt64>) -> Double {
            passes.reduce(0.0) { $0 + Double($1[node][keyPath: phase]) } / count / 1e6
        }
        var rows: [Row] = []
        for (index, sample) in first.enumerated() {
            let attention = mean(index, \.attentionNs)
            let aggregation = mean(index, \.aggregationNs)
            let convolution = mean(index, \.convolutionNs)
            let activation = mean(index, \.activationNs)
            rows.append(Row(name: sample.name, op: sample.op, attentionMs: attention, aggregationMs: aggregation,
                            convolutionMs: convolution, activationMs: activation,
                            totalMs: attention + aggregation + convolution + activation))
        }
        self.passes = passes.count
        self.rows = rows
        self.total = Row(name: "total", op: "",
                         attentionMs: rows.reduce(0) { $0 + $1.attentionMs },
                         aggregationMs: rows.reduce(0) { $0 + $1.aggregationMs },
                         convolutionMs: rows.reduce(0) { $0 + $1.convolutionMs },
                         activationMs: rows.reduce(0) { $0 + $1.activationMs },
                         totalMs: rows.reduce(0) { $0 + $1.totalMs })
    }

    /// The rows summed per op kind (`op`), in order of first appearance; each kind's `name` is its node count.
    /// Where the time of one network goes over another's (a dynamic or DY-ReLU network against its
    /// static one) is a difference of these sums.
    public var kinds: [Row] {
        var order: [String] = []
        var sums: [String: (count: Int, row: Row)] = [:]
        for row in rows {
            guard var entry = sums[row.op] else {
                order.append(row.op)
                sums[row.op] = (1, row)
                continue
            }
            entry.count += 1
            entry.row.attentionMs += row.attentionMs
            entry.row.aggregationMs += row.aggregationMs
            entry.row.convolutionMs += row.convolutionMs
            entry.row.activationMs += row.activationMs
            entry.row.totalMs += row.totalMs
            sums[row.op] = entry
        }
        return order.compactMap { op in
            sums[op].map { entry in
                var row = entry.row
                row.name = "\(entry.count)"
                return row
            }
        }
    }
}
