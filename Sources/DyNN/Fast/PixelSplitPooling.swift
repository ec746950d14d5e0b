import CDNNL

/// Channel means of one NHWC sample with the pixels split across OpenMP's threads (`dy_attention_job` in
/// shim.h): each thread sums a contiguous slice of the pixels into its own row of partial sums, so the
/// threads share the work evenly whatever the channel count and each reads one stream; then the rows
/// are added per channel. A dynamic convolution's attention runs its FC1 in the same parallel region;
/// global average pooling and expert routing take the means alone. Inputs too small for a parallel
/// region to pay are pooled on the calling thread.
final class PixelSplitPooling: @unchecked Sendable {
    let channels: Int
    /// One row of `channels` partial sums per thread that may pool.
    let slots: Int
    private let partials: AlignedBuffer

    init(channels: Int, slots: Int) {
        self.channels = channels
        self.slots = max(slots, 1)
        partials = AlignedBuffer(floats: self.slots * channels)
    }

    /// A dynamic convolution's FC1 + ReLU run after the means: `hidden` rows of `channels` weights (fp32,
    /// or fp16 when `half`), written to `output`.
    struct FC1 {
        var weights: UnsafeRawPointer
        var half: Bool
        var bias: UnsafePointer<Float>?
        var hidden: Int
        var output: UnsafeMutablePointer<Float>
    }

    /// Inputs from this many elements up may split: below it, the half of the pooling a second thread
    /// saves does not pay for the parallel region.
    static let parallelThreshold = 16_384

    /// Channel means of the NHWC sample `x` of `pixels` pixels into `means`, then `fc1` when given.
    /// `threads`: OpenMP threads for the split (0: OpenMP's default, 1: never split).
    func run(_ x: UnsafePointer<Float>, pixels: Int, into means: UnsafeMutablePointer<Float>, fc1: FC1? = nil,
             avx2: Bool, threads: Int) {
        if threads != 1, OpenMPThreads.worthSplitting(pixels * channels, savedPerElement: 0.15, floor: Self.parallelThreshold),
           runSplit(x, pixels: pixels, into: means, fc1: fc1, avx2: avx2, threads: threads) {
            return
        }
        NHWCKernels.channelMeans(x, pixels: pixels, channels: channels, into: means, avx2: avx2)
        if let fc1 {
            dy_fc_rows(fc1.weights, fc1.half ? 1 : 0, fc1.bias, means, 0, Int32(fc1.hidden), Int32(channels), 1,
                       avx2 ? 1 : 0, fc1.output)
        }
    }

    /// The split alone, whatever the size; false, without running, when libgomp's entry points are missing.
    func runSplit(_ x: UnsafePointer<Float>, pixels: Int, into means: UnsafeMutablePointer<Float>, fc1: FC1? = nil,
                  avx2: Bool, threads: Int) -> Bool {
        guard let parallel = OpenMPThreads.parallel, let number = OpenMPThreads.threadNumber,
              let count = OpenMPThreads.threadCount, let barrier = OpenMPThreads.barrier else { return false }
        var job = dy_attention_job(x: x, pixels: Int32(pixels), channels: Int32(channels), means: means,
                                   partials: partials.floats, partial_slots: Int32(slots),
                                   fc1: fc1?.weights, fc1_half: fc1?.half == true ? 1 : 0, fc1_bias: fc1?.bias,
                                   hidden: Int32(fc1?.hidden ?? 0), h: fc1?.output,
                                   avx2: avx2 ? 1 : 0, thread_number: number, thread_count: count, barrier: barrier)
        dy_attention_parallel(&job, UInt32(threads), parallel)
        return true
    }
}
