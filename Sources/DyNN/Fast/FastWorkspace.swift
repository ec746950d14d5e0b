/// The memory a forward pass works in: activation buffers, scratchpads, kernels and attention scratch.
/// An engine runs one pass at a time, so all its plans (one per planned batch size) share one workspace,
/// sized when the engine is built for the largest plan's needs, instead of each holding its own: plans
/// for batches of 1 to 8 need the memory of the batch of 8, not of all eight plans together.
final class FastWorkspace: @unchecked Sendable {
    /// What a plan needs; a workspace of the union of several plans' sizes serves each of them.
    struct Sizes: Equatable {
        /// Floats of each activation buffer, by the plan's buffer index.
        var bufferFloats: [Int] = []
        var scratchpadBytes = 0
        var kernelFloats = 0
        var biasFloats = 0
        var routingFloats = 0
        var pooledFloats = 0, hiddenFloats = 0, logitsFloats = 0
        /// One scratchpad of `workerScratchpadBytes` per worker when samples run side by side.
        var workerScratchpads = 0, workerScratchpadBytes = 0
        var batchMeansFloats = 0, batchHiddenFloats = 0

        /// Room for both: each size the larger of the two.
        func union(_ other: Sizes) -> Sizes {
            let count = max(bufferFloats.count, other.bufferFloats.count)
            func floats(_ sizes: [Int], _ index: Int) -> Int { index < sizes.count ? sizes[index] : 0 }
            return Sizes(bufferFloats: (0..<count).map { max(floats(bufferFloats, $0), floats(other.bufferFloats, $0)) },
                         scratchpadBytes: max(scratchpadBytes, other.scratchpadBytes),
                         kernelFloats: max(kernelFloats, other.kernelFloats), biasFloats: max(biasFloats, other.biasFloats),
                         routingFloats: max(routingFloats, other.routingFloats),
                         pooledFloats: max(pooledFloats, other.pooledFloats), hiddenFloats: max(hiddenFloats, other.hiddenFloats),
                         logitsFloats: max(logitsFloats, other.logitsFloats),
                         workerScratchpads: max(workerScratchpads, other.workerScratchpads),
                         workerScratchpadBytes: max(workerScratchpadBytes, other.workerScratchpadBytes),
                         batchMeansFloats: max(batchMeansFloats, other.batchMeansFloats),
                         batchHiddenFloats: max(batchHiddenFloats, other.batchHiddenFloats))
        }
    }

    let sizes: Sizes
    let buffers: [AlignedBuffer]
    let scratchpad: AlignedBuffer
    /// Aggregated kernels of the current dynamic layer (see `FastPlan.workerKernelStride`).
    let kernels: AlignedBuffer
    /// Per-sample aggregated biases, sample n at `n * FastPlan.biasStride`.
    let biases: AlignedBuffer
    /// Routing weights (see `FastPlan.routingLayerStride`).
    let routing: AlignedBuffer
    /// Per worker: pooled means of one sample, the attention MLP's hidden layer and logits.
    let pooled: AlignedBuffer, hidden: AlignedBuffer, logits: AlignedBuffer
    /// Scratchpads of the workers' batch-1 dynamic convolutions when samples run side by side.
    let workerScratchpads: [AlignedBuffer]
    /// Per-sample channel means handed from one dynamic convolution to the next (see `PooledMeans`).
    let batchMeans: AlignedBuffer
    /// Per-sample attention hidden layers of a batch's FC1 computed at once.
    let batchHidden: AlignedBuffer

    init(_ sizes: Sizes) {
        self.sizes = sizes
        buffers = sizes.bufferFloats.map { AlignedBuffer(floats: $0) }
        scratchpad = AlignedBuffer(byteCount: sizes.scratchpadBytes)
        kernels = AlignedBuffer(floats: sizes.kernelFloats)
        biases = AlignedBuffer(floats: sizes.biasFloats)
        routing = AlignedBuffer(floats: sizes.routingFloats)
        pooled = AlignedBuffer(floats: sizes.pooledFloats)
        hidden = AlignedBuffer(floats: sizes.hiddenFloats)
        logits = AlignedBuffer(floats: sizes.logitsFloats)
        workerScratchpads = (0..<sizes.workerScratchpads).map { _ in AlignedBuffer(byteCount: sizes.workerScratchpadBytes) }
        batchMeans = AlignedBuffer(floats: sizes.batchMeansFloats)
        batchHidden = AlignedBuffer(floats: sizes.batchHiddenFloats)
    }
}
