import CDNNL

/// The K expert kernels of one dynamic convolution, each reordered once at load time into the weight
/// layout its convolution primitive asked for (a permutation of the plain layout plus zero padding),
/// stored back to back. Aggregating them element by element in that layout is exact, and the padding
/// stays zero because every expert's padding is zero.
final class ExpertBank: @unchecked Sendable {
    let experts: Int
    /// Floats per expert in the primitive's layout, padding included: the size of one aggregated kernel.
    let count: Int
    let precision: ExpertPrecision
    private let storage: AlignedBuffer

    /// `experts`: `[K, out, in/groups, kh, kw]`, plain.
    init(context: DNNLContext, experts expertTensor: Tensor, primitive: ConvPrimitive, precision: ExpertPrecision,
         node: String) throws(FastEngineError) {
        experts = expertTensor.shape[0]
        count = primitive.weightsBytes / MemoryLayout<Float>.stride
        self.precision = precision
        let plainCount = expertTensor.count / experts
        let plainDesc = try DNNLContext.plainDesc(primitive.shape.weightDims, primitive.shape.plainWeightTag)
        let element = precision == .fp32 ? MemoryLayout<Float>.stride : MemoryLayout<UInt16>.stride
        storage = AlignedBuffer(byteCount: experts * count * element)
        let staging = precision == .fp32 ? nil : AlignedBuffer(floats: count)
        for k in 0..<experts {
            let target = staging?.raw ?? UnsafeMutableRawPointer(storage.floats + k * count)
            try expertTensor.data.withUnsafeBufferPointer { (plain) throws(FastEngineError) in
                try context.reorder(plainDesc, UnsafeRawPointer(plain.baseAddress! + k * plainCount),
                                    into: primitive.weightsDesc, target, node: node)
            }
            if let staging {
                let halves = storage.raw.assumingMemoryBound(to: UInt16.self) + k * count
                for i in 0..<count { halves[i] = HalfPrecision.halfFromFloat(staging.floats[i]) }
            }
        }
    }

    /// The fp32 bank as raw memory, for the oneDNN matmul aggregation.
    var raw: UnsafeMutableRawPointer { storage.raw }

    /// Bytes the aggregation reads per request.
    var byteCount: Int { storage.byteCount }

    /// A squeeze-excitation gate folded into an aggregation: the gate `[in]` and the gate chunk map of the
    /// bank's layout (`GateChunks`).
    struct Gate {
        var values: UnsafePointer<Float>
        var chunks: UnsafePointer<Int32>
    }

    /// One sample's kernel, `out[i] = sum_k pi[k] * expert_k[i]`, times the gate of element i's input
    /// channel when `gate` is given, split across OpenMP's threads (`threads`, 0 = OpenMP's default) when
    /// the bank is large enough for the split to pay for its parallel region.
    func aggregate(pi: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, gate: Gate? = nil, avx2: Bool, threads: Int) {
        var job = dy_aggregation_job(bank: storage.raw, stride: count, experts: Int32(experts), pi: pi,
                                     out: out, gate: gate?.values, chunks: gate?.chunks, half: precision == .fp16 ? 1 : 0,
                                     avx2: avx2 ? 1 : 0, thread_number: OpenMPThreads.threadNumber,
                                     thread_count: OpenMPThreads.threadCount)
        let parallel = threads != 1 && OpenMPThreads.threadNumber != nil && OpenMPThreads.threadCount != nil
            && OpenMPThreads.worthSplitting(count, savedPerElement: Self.splitSavingPerByte * Double(experts * elementBytes),
                                            floor: Self.parallelThreshold)
            ? OpenMPThreads.parallel : nil
        dy_aggregate_parallel(&job, parallel == nil ? 1 : UInt32(threads), parallel)
    }

    /// Two samples' kernels in one pass over the experts, on the calling thread: the experts are read
    /// once for both.
    func aggregatePair(pi first: UnsafePointer<Float>, _ second: UnsafePointer<Float>,
                       into firstOut: UnsafeMutablePointer<Float>, _ secondOut: UnsafeMutablePointer<Float>, avx2: Bool) {
        dy_aggregate_pair(storage.raw, precision == .fp16 ? 1 : 0, count, count, Int32(experts), first, second,
                          avx2 ? 1 : 0, firstOut, secondOut)
    }

    /// Smallest bank split across threads even when regions are cheap.
    static let parallelThreshold = 16_384
    /// Nanoseconds two threads save per byte of experts read: the difference between one core's
    /// and two cores' streaming bandwidth as measured on the Zen 3 build machine (two cores do not
    /// double it, so only large banks are worth splitting). Re-derive it on other hardware.
    static let splitSavingPerByte = 0.0125

    private var elementBytes: Int { precision == .fp32 ? MemoryLayout<Float>.stride : MemoryLayout<UInt16>.stride }
}
