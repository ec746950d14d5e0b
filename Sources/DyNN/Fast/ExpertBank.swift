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

    init(context: DNNLContext, op: DynamicConv2d, primitive: ConvPrimitive, precision: ExpertPrecision,
         node: String) throws(FastEngineError) {
        experts = op.expertCount
        count = primitive.weightsBytes / MemoryLayout<Float>.stride
        self.precision = precision
        let plainCount = op.experts.count / experts
        let plainDesc = try DNNLContext.plainDesc(primitive.shape.weightDims, primitive.shape.plainWeightTag)
        let element = precision == .fp32 ? MemoryLayout<Float>.stride : MemoryLayout<UInt16>.stride
        storage = AlignedBuffer(byteCount: experts * count * element)
        let staging = precision == .fp32 ? nil : AlignedBuffer(floats: count)
        for k in 0..<experts {
            let target = staging?.raw ?? UnsafeMutableRawPointer(storage.floats + k * count)
            try op.experts.data.withUnsafeBufferPointer { (plain) throws(FastEngineError) in
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

    /// `out[n * count + i] = sum_k pi[n * experts + k] * expert_k[i]` for every sample n: one pass over
    /// the experts for the whole batch.
    func aggregate(pi: UnsafePointer<Float>, samples: Int, into out: UnsafeMutablePointer<Float>, avx2: Bool) {
        switch (precision, avx2) {
        case (.fp32, true):
            dy_aggregate_f32_avx2(storage.floats, count, Int32(experts), pi, Int32(samples), out)
        case (.fp32, false):
            dy_aggregate_f32_portable(storage.floats, count, Int32(experts), pi, Int32(samples), out)
        case (.fp16, true):
            dy_aggregate_f16_avx2(storage.raw.assumingMemoryBound(to: UInt16.self), count, Int32(experts), pi, Int32(samples), out)
        case (.fp16, false):
            dy_aggregate_f16_portable(storage.raw.assumingMemoryBound(to: UInt16.self), count, Int32(experts), pi, Int32(samples), out)
        }
    }
}
