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
    /// A 1x1 convolution of a 1x1 input (a squeeze-excitation's reduce and expand): one matrix-vector product
    /// per sample, FC rows on the calling thread (`dy_fc_rows_samples`), then the post-op; a oneDNN call with
    /// its parallel region cost more than the product at these sizes. `matrix`: the plain `[out, in]` weights.
    case pointwiseConvolution(node: Int, layer: StaticConvLayer, matrix: AlignedBuffer, input: Int, output: Int)
    /// A squeeze-excitation's `x * gate` (node `mulNode`) folded into the static convolution that reads it:
    /// the convolution runs on `x` with its weights scaled by the gate per input channel,
    /// `W'[o, c, ...] = W[o, c, ...] gate[c]`, made in `workspace.kernels` right before it. `gateChunks`:
    /// where the gate goes in the primitive's weight layout (`GateChunks`; see `FastPlanBuilder.foldingGates`).
    case gatedConvolution(node: Int, mulNode: Int, layer: StaticConvLayer, primitive: ConvPrimitive, weights: AlignedBuffer,
                          gateChunks: AlignedBuffer, x: Int, gate: Int, output: Int)
    /// `aggregation`: the batch's oneDNN matmul over an fp32 bank; nil runs the C kernel (fp16 banks).
    case dynamicConvolution(node: Int, layer: DynamicConvLayer, aggregation: MatmulPrimitive?, input: Int, output: Int,
                            means: PooledMeans)
    /// A squeeze-excitation's `x * gate` (node `mulNode`) folded into the externally routed dynamic convolution
    /// that reads it, batch 1: the aggregation writes the kernel already scaled by the gate per input channel,
    /// `W'[o, c, ...] = sum_k pi_k W_k[o, c, ...] gate[c]`, and the convolution runs on `x`.
    case gatedDynamicConvolution(node: Int, mulNode: Int, layer: DynamicConvLayer, gateChunks: AlignedBuffer, x: Int, gate: Int,
                                 output: Int)
    /// Linked dynamic convolutions run sample by sample (`FastExecution.dynamicChain`); sample-parallel plans only.
    case dynamicChain(links: [ChainLink], means: PooledMeans)
    case activation(node: Int, kind: ActivationKind, input: Int, output: Int, count: Int)
    case add(node: Int, a: Int, b: Int, output: Int, count: Int)
    /// `output = x * gate`: equal shapes (`broadcast` nil), or the gate `[N, C]` (an NHWC `[N, C, 1, 1]`)
    /// broadcast over the pixels of `x`.
    case mul(node: Int, x: Int, gate: Int, output: Int, count: Int, broadcast: (channels: Int, pixels: Int)?)
    /// NHWC buffer -> `[N, K]` routing weights tensor (pooled means, a small FC, sigmoid or softmax).
    case expertRouting(node: Int, op: ExpertRouting, input: Int, channels: Int, pixels: Int, pooling: PixelSplitPooling)
    case dyReLU(node: Int, layer: DyReLULayer, input: Int, output: Int)
    /// NHWC buffer -> `[N, C, 1, 1]` tensor.
    case globalAvgPool(node: Int, input: Int, channels: Int, pixels: Int, pooling: PixelSplitPooling)
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

/// Everything a forward pass of one batch size needs, planned once (steps, primitives, buffer sizes with
/// liveness-based reuse and in-place element-wise ops) and reused by every later pass of that size. The
/// memory itself is the engine's `FastWorkspace`, shared by all its plans.
final class FastPlan: @unchecked Sendable {
    let batch: Int
    let steps: [FastStep]
    let homes: [ValueHome]
    /// The workspace this plan needs.
    let sizes: FastWorkspace.Sizes
    /// Floats per sample of the aggregated biases (the largest out channel count).
    let biasStride: Int
    /// Routing weights `pi[n][k]` of the current layer, or of every layer of a chain: layer j's at
    /// `j * batch * routingLayerStride`, sample n's at `n * experts` within it.
    let routingLayerStride: Int
    /// Floats of one kernel slot when samples run side by side: worker w aggregates into its two slots at
    /// `(2 w) * workerKernelStride` and `(2 w + 1) * workerKernelStride` (two samples per pass over the
    /// experts); otherwise the kernels hold one kernel, or the batch's side by side (matmul aggregation).
    let workerKernelStride: Int
    /// Workers (one unless the plan runs samples side by side); per worker, the pooled means, hidden
    /// layer and logits of one sample sit at `worker * stride`.
    let workers: Int
    let pooledStride: Int, hiddenStride: Int, logitsStride: Int

    init(batch: Int, steps: [FastStep], homes: [ValueHome], bufferFloats: [Int], scratchpadBytes: Int,
         kernelFloats: Int, biasFloats: Int, maxExperts: Int, maxChannels: Int, maxHidden: Int,
         workers: Int, workerScratchpadBytes: Int, longestChain: Int, workerKernelFloats: Int) {
        self.batch = batch
        self.steps = steps
        self.homes = homes
        self.workers = workers
        biasStride = biasFloats
        routingLayerStride = maxExperts
        // Strides rounded to 16 floats (64 bytes) so no two workers write the same cache line.
        func padded(_ floats: Int) -> Int { (floats + 15) / 16 * 16 }
        workerKernelStride = padded(workerKernelFloats)
        (pooledStride, hiddenStride, logitsStride) = (padded(maxChannels), padded(maxHidden), padded(maxExperts))
        let sideBySide = workers > 1
        sizes = FastWorkspace.Sizes(
            bufferFloats: bufferFloats, scratchpadBytes: scratchpadBytes,
            kernelFloats: max(kernelFloats, sideBySide ? 2 * workers * workerKernelStride : 0),
            biasFloats: batch * biasFloats, routingFloats: max(longestChain, 1) * batch * maxExperts,
            pooledFloats: workers * pooledStride, hiddenFloats: workers * hiddenStride, logitsFloats: workers * logitsStride,
            workerScratchpads: sideBySide ? workers : 0, workerScratchpadBytes: sideBySide ? workerScratchpadBytes : 0,
            batchMeansFloats: sideBySide ? batch * pooledStride : 0, batchHiddenFloats: sideBySide ? batch * hiddenStride : 0)
    }
}
