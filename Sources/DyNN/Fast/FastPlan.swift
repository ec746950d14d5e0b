/// Where a graph value lives during a fast forward pass.
enum ValueHome {
    /// A `Tensor` in NCHW (model inputs, outputs of reference ops and of global pooling).
    case tensor
    /// A planned NHWC buffer of shape `[N, C, H, W]` (in NCHW order of dims).
    case nhwc(buffer: Int, shape: [Int])
}

/// One step of a fast forward pass. Buffer operands index `FastPlan.buffers`.
enum FastStep {
    /// Copies the tensor of value `slot` into an NHWC buffer for fast consumers.
    case toNHWC(slot: Int, buffer: Int, channels: Int, pixels: Int)
    /// `Normalize` from an NCHW tensor (layout change fused) or from an NHWC buffer.
    case normalize(node: Int, op: Normalize, tensorInput: Int?, bufferInput: Int?, output: Int, channels: Int, pixels: Int)
    case convolution(node: Int, layer: StaticConvLayer, primitive: ConvPrimitive, weights: AlignedBuffer, input: Int, output: Int)
    /// `aggregation`: the batch's oneDNN matmul over an fp32 bank; nil runs the C kernel (fp16 banks).
    case dynamicConvolution(node: Int, layer: DynamicConvLayer, aggregation: MatmulPrimitive?, input: Int, output: Int,
                            means: PooledMeans)
    /// Linked dynamic convolutions run sample by sample (`FastExecution.dynamicChain`); sample-parallel plans only.
    case dynamicChain(links: [ChainLink], means: PooledMeans)
    case activation(node: Int, kind: ActivationKind, input: Int, output: Int, count: Int)
    case add(node: Int, a: Int, b: Int, output: Int, count: Int)
    case dyReLU(node: Int, op: DyReLU, input: Int, output: Int, channels: Int, height: Int, width: Int)
    /// NHWC buffer -> `[N, C, 1, 1]` tensor.
    case globalAvgPool(node: Int, input: Int, channels: Int, pixels: Int)
    /// `[N, in]` tensor -> `[N, out]` tensor.
    case linear(node: Int, layer: LinearLayer, primitive: MatmulPrimitive, input: Int)
    /// A node the fast path does not cover: its reference op on NCHW tensors.
    case reference(node: Int)
}

/// How a dynamic convolution of a sample-parallel plan gets its attention's pooled input means. When a
/// dynamic convolution reads the previous one's output directly, the previous one computes those means
/// for each sample right after that sample's convolution, on the same thread, while the output is still
/// in cache (a batch's activations are too large for the cache to hold until the next layer pools them),
/// and leaves them in `FastPlan.batchMeans`. One buffer serves every layer: a layer reads its input's
/// means in its attention phase, which ends before its convolutions write the next layer's.
struct PooledMeans {
    /// This layer's input means are in `batchMeans`.
    var fromPrevious = false
    /// Leave this layer's output means in `batchMeans` for the next layer.
    var forNext = false
}

/// One layer of a `FastStep.dynamicChain`: its node, layer, and input and output buffers.
struct ChainLink {
    var node: Int
    var layer: DynamicConvLayer
    var input: Int
    var output: Int
}

/// Everything a forward pass of one batch size needs, planned once (steps, primitives, buffers with
/// liveness-based reuse and in-place element-wise ops) and reused by every later pass of that size.
final class FastPlan: @unchecked Sendable {
    let batch: Int
    let steps: [FastStep]
    let homes: [ValueHome]
    let buffers: [AlignedBuffer]
    let scratchpad: AlignedBuffer
    /// Aggregated kernels of the current dynamic layer: one (vector loop), the batch's (matmul), or one
    /// per worker when samples run side by side (worker w's at `w * workerKernelStride`).
    let kernels: AlignedBuffer
    /// Per-sample aggregated biases, sample n at `n * biasStride` (the largest out channel count).
    let biases: AlignedBuffer
    let biasStride: Int
    /// Routing weights `pi[n][k]` of the current layer, or of every layer of a chain: layer j's at
    /// `j * batch * routingLayerStride`, sample n's at `n * experts` within it.
    let routing: AlignedBuffer
    let routingLayerStride: Int
    /// Floats of the kernel slot each worker aggregates its sample's kernel into when samples run side by side.
    let workerKernelStride: Int
    /// Per worker thread (`workers` of them, one unless the plan runs samples side by side): pooled
    /// means of one sample, the attention MLP's hidden layer and logits, each at `worker * stride`.
    let pooled: AlignedBuffer
    let hidden: AlignedBuffer
    let logits: AlignedBuffer
    let workers: Int
    let pooledStride: Int, hiddenStride: Int, logitsStride: Int
    /// Scratchpads of the workers' batch-1 dynamic convolutions when samples run side by side.
    let workerScratchpads: [AlignedBuffer]
    /// Per-sample channel means (`batch * pooledStride` floats) handed from one dynamic convolution to the
    /// next (see `PooledMeans`); unused unless samples run side by side.
    let batchMeans: AlignedBuffer
    /// Per-sample attention hidden layers (`batch * hiddenStride` floats) of a batch's FC1 computed at once;
    /// unused unless samples run side by side.
    let batchHidden: AlignedBuffer

    init(batch: Int, steps: [FastStep], homes: [ValueHome], bufferFloats: [Int], scratchpadBytes: Int,
         kernelFloats: Int, biasFloats: Int, maxExperts: Int, maxChannels: Int, maxHidden: Int,
         workers: Int, workerScratchpadBytes: Int, longestChain: Int, workerKernelFloats: Int) {
        self.batch = batch
        self.steps = steps
        self.homes = homes
        buffers = bufferFloats.map { AlignedBuffer(floats: $0) }
        scratchpad = AlignedBuffer(byteCount: scratchpadBytes)
        workerKernelStride = (workerKernelFloats + 15) / 16 * 16
        kernels = AlignedBuffer(floats: max(kernelFloats, workers > 1 ? workers * workerKernelStride : 0))
        biasStride = biasFloats
        biases = AlignedBuffer(floats: batch * biasFloats)
        routingLayerStride = maxExperts
        routing = AlignedBuffer(floats: max(longestChain, 1) * batch * maxExperts)
        self.workers = workers
        // Strides rounded to 16 floats (64 bytes) so no two workers write the same cache line.
        func padded(_ floats: Int) -> Int { (floats + 15) / 16 * 16 }
        (pooledStride, hiddenStride, logitsStride) = (padded(maxChannels), padded(maxHidden), padded(maxExperts))
        pooled = AlignedBuffer(floats: workers * pooledStride)
        hidden = AlignedBuffer(floats: workers * hiddenStride)
        logits = AlignedBuffer(floats: workers * logitsStride)
        workerScratchpads = workers > 1 ? (0..<workers).map { _ in AlignedBuffer(byteCount: workerScratchpadBytes) } : []
        batchMeans = AlignedBuffer(floats: workers > 1 ? batch * pooledStride : 0)
        batchHidden = AlignedBuffer(floats: workers > 1 ? batch * hiddenStride : 0)
    }

    /// Bytes of all buffers this plan owns (activations, kernels, scratchpad).
    var byteCount: Int {
        buffers.reduce(0) { $0 + $1.byteCount } + scratchpad.byteCount + kernels.byteCount + biases.byteCount
            + batchMeans.byteCount + batchHidden.byteCount
            + workerScratchpads.reduce(0) { $0 + $1.byteCount }
    }
}
