/// How expert kernels of dynamic convolutions are stored by the fast backend.
public enum ExpertPrecision: String, Sendable, Codable, CaseIterable {
    /// IEEE single precision: aggregation reads 4 bytes per expert weight.
    case fp32
    /// IEEE half precision, converted to fp32 while aggregating (F16C in hardware on AVX2 CPUs).
    /// Halves the memory traffic of the aggregation; the aggregated kernel and the convolution stay fp32.
    /// The attention's FC1 weights, the next largest weights a request reads, are stored in fp16 too.
    case fp16
}

/// How `sum_k pi_k W_k` is computed for fp32 experts.
public enum AggregationMethod: String, Sendable, Codable, CaseIterable {
    /// The vectorised loop (AVX2 when available) on the calling thread, all samples per pass over the
    /// experts. The default: it was faster than the matmul on the 2-core build machine, where the
    /// matmul's threads compete with busy cores.
    case vectorLoop = "vector_loop"
    /// A oneDNN matmul `pi[N, K] x experts[K, M]`, spread over oneDNN's threads. fp16 banks always use the loop.
    case matmul
}

/// Settings of a `FastEngine`, fixed when it is built.
public struct FastEngineOptions: Sendable, Equatable {
    /// Intra-op threads for oneDNN (OpenMP). 0 leaves the OpenMP default (all cores, or `OMP_NUM_THREADS`
    /// as set when the process started). A positive value is applied on the thread of every pass of this
    /// engine (see `FastEngine`).
    public var threads: Int
    public var expertPrecision: ExpertPrecision
    public var aggregation: AggregationMethod
    /// Which of the process's execution lanes runs this engine's passes when it uses more than one
    /// thread (`threads` other than 1). Engines on the same lane share one set of threads and run one
    /// pass at a time between them; give engines that should compute at the same time different lanes
    /// (a server's replicas of a model: replica `i` on lane `i`). See `OpenMPLane`.
    public var lane: Int
    /// The batch sizes planned when the engine is built (1 is always planned too). A batch of another
    /// size runs as chunks of planned sizes, so these fix the engine's memory: a server plans the sizes
    /// its scheduler forms (1 to `max_batch_size`), a benchmark the one batch it measures.
    public var batchSizes: [Int]

    /// The largest batch size a plan may be made for.
    public static let maxPlannedBatch = 4096

    public init(threads: Int = 0, expertPrecision: ExpertPrecision = .fp32, aggregation: AggregationMethod = .vectorLoop,
                lane: Int = 0, batchSizes: [Int] = Self.batchSizes(upTo: 8)) {
        self.threads = threads
        self.expertPrecision = expertPrecision
        self.aggregation = aggregation
        self.lane = lane
        self.batchSizes = batchSizes
    }

    /// Sizes to plan for batches of up to `maximum` samples: each size up to `everySizeUpTo`, so such a
    /// batch runs whole; beyond it the powers of two and `maximum` itself, so the number of plans grows
    /// with the logarithm of the maximum while any batch runs in at most a few chunks.
    public static func batchSizes(upTo maximum: Int, everySizeUpTo: Int = 16) -> [Int] {
        let maximum = max(1, maximum)
        let powers = sequence(first: 1) { $0 <= maximum / 2 ? $0 * 2 : nil }
        return Set(Array(1...min(maximum, max(1, everySizeUpTo))) + powers + [maximum]).sorted()
    }

    /// The sizes that get a plan: `batchSizes` and 1, each once, ascending.
    var plannedBatches: [Int] { Set(batchSizes + [1]).sorted() }
}
