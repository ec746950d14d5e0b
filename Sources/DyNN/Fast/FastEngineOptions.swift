/// How expert kernels of dynamic convolutions are stored by the fast backend.
public enum ExpertPrecision: String, Sendable, Codable, CaseIterable {
    /// IEEE single precision: aggregation reads 4 bytes per expert weight.
    case fp32
    /// IEEE half precision, converted to fp32 while aggregating (F16C in hardware on AVX2 CPUs).
    /// Halves the memory traffic of the aggregation; the aggregated kernel and the convolution stay fp32.
    case fp16
}

/// Settings of a `FastEngine`, fixed when it is built.
public struct FastEngineOptions: Sendable, Equatable {
    /// Intra-op threads for oneDNN (OpenMP). 0 leaves the OpenMP default (all cores, or `OMP_NUM_THREADS`).
    /// A positive value is applied process-wide: OpenMP has one thread pool per process, so the last
    /// engine built decides for every engine (see `FastEngine` for details).
    public var threads: Int
    public var expertPrecision: ExpertPrecision

    public init(threads: Int = 0, expertPrecision: ExpertPrecision = .fp32) {
        self.threads = threads
        self.expertPrecision = expertPrecision
    }
}
