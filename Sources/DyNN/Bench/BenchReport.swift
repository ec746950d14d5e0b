/// One `dyserve bench` measurement, as `--json` prints it (snake_case keys, times in milliseconds).
public struct BenchReport: Sendable, Equatable, Codable {
    public var model: String
    public var backend: String
    /// "fp32" or "fp16" for the fast backend's stored experts; nil for the reference backend.
    public var experts: String?
    public var batch: Int
    public var threads: Int
    public var warmup: Int
    public var iterations: Int
    public var medianMs: Double
    public var p90Ms: Double
    public var minMs: Double
    public var maxMs: Double
    public var meanMs: Double
    /// batch / median latency.
    public var samplesPerS: Double
    /// 2 FLOPs per multiply-add of one sample, times batch, over the median latency.
    public var gflops: Double
    /// Multiply-adds of one sample (the model summary's total).
    public var macsPerSample: Int
    /// Stored parameters after batch-norm folding, and what they take in fp32: the yardstick of the
    /// memory target (peak RSS at most 2x the fp32 weights plus 100 MiB).
    public var parameters: Int
    public var weightsFp32Mib: Double
    /// VmHWM after the timed iterations; nil where the kernel does not report it.
    public var peakRssMib: Double?
    /// Per-node phase times (`--profile`), measured in separate passes after the timed ones.
    public var profile: LayerProfile?

    public init(model: String, backend: String, experts: String?, batch: Int, threads: Int, warmup: Int,
                macsPerSample: Int, parameters: Int, latencyMs: LatencyStatistics, peakRssBytes: Int?,
                profile: LayerProfile? = nil) {
        self.model = model
        self.backend = backend
        self.experts = experts
        self.batch = batch
        self.threads = threads
        self.warmup = warmup
        self.iterations = latencyMs.count
        self.medianMs = latencyMs.median
        self.p90Ms = latencyMs.p90
        self.minMs = latencyMs.minimum
        self.maxMs = latencyMs.maximum
        self.meanMs = latencyMs.mean
        self.macsPerSample = macsPerSample
        self.parameters = parameters
        self.weightsFp32Mib = Double(parameters) * 4 / 1_048_576
        let seconds = latencyMs.median / 1000
        self.samplesPerS = seconds > 0 ? Double(batch) / seconds : 0
        self.gflops = seconds > 0 ? 2 * Double(macsPerSample) * Double(batch) / seconds / 1e9 : 0
        self.peakRssMib = peakRssBytes.map { Double($0) / 1_048_576 }
        self.profile = profile
    }

    enum CodingKeys: String, CodingKey {
        case model, backend, experts, batch, threads, warmup, iterations, gflops, profile, parameters
        case weightsFp32Mib = "weights_fp32_mib"
        case medianMs = "median_ms"
        case p90Ms = "p90_ms"
        case minMs = "min_ms"
        case maxMs = "max_ms"
        case meanMs = "mean_ms"
        case samplesPerS = "samples_per_s"
        case macsPerSample = "macs_per_sample"
        case peakRssMib = "peak_rss_mib"
    }

    /// Every key is always present (null where unknown), so scripts can index without checking.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(model, forKey: .model)
        try container.encode(backend, forKey: .backend)
        try container.encode(experts, forKey: .experts)
        try container.encode(batch, forKey: .batch)
        try container.encode(threads, forKey: .threads)
        try container.encode(warmup, forKey: .warmup)
        try container.encode(iterations, forKey: .iterations)
        try container.encode(medianMs, forKey: .medianMs)
        try container.encode(p90Ms, forKey: .p90Ms)
        try container.encode(minMs, forKey: .minMs)
        try container.encode(maxMs, forKey: .maxMs)
        try container.encode(meanMs, forKey: .meanMs)
        try container.encode(samplesPerS, forKey: .samplesPerS)
        try container.encode(gflops, forKey: .gflops)
        try container.encode(macsPerSample, forKey: .macsPerSample)
        try container.encode(parameters, forKey: .parameters)
        try container.encode(weightsFp32Mib, forKey: .weightsFp32Mib)
        try container.encode(peakRssMib, forKey: .peakRssMib)
        try container.encode(profile, forKey: .profile)
    }
}
