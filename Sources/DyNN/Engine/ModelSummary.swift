/// A per-layer table of a loaded model (after batch norm folding), as `dyserve inspect` prints it.
public struct ModelSummary: Sendable, Equatable {
    public struct Row: Sendable, Equatable {
        public var name: String
        public var op: String
        /// Batch dimension included.
        public var outputShape: [Int]
        public var parameters: Int
        /// Multiply-adds per sample.
        public var macs: Int
    }

    public var rows: [Row]
    public var totalParams: Int { rows.reduce(0) { $0 + $1.parameters } }
    /// Per sample.
    public var totalMacs: Int { rows.reduce(0) { $0 + $1.macs } }
}
