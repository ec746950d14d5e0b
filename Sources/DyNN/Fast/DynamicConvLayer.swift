import CDNNL

/// A dynamic convolution on the fast path: one batch-1 primitive created at load time (every sample
/// has its own kernel, so a batch runs it once per sample, several samples side by side), the experts
/// reordered into its weight layout, expert biases and the attention MLP copied into contiguous buffers.
/// A 2-input (externally routed) convolution has no attention MLP: its routing weights are another
/// node's value, read from the tensor slot `routing` names; a batch norm after it may be folded in
/// (`RoutedDynamicConv2d.folding`), its shift added to every sample's aggregated bias.
final class DynamicConvLayer: @unchecked Sendable {
    /// Where the routing weights of a layer come from.
    enum RoutingSource {
        /// Its own attention network (1-input `dynamic_conv2d`).
        case attention(DynamicConv2d)
        /// Value slot `slot` (inputs first, then nodes), an `[N, K]` tensor made by node `routedBy`.
        case external(slot: Int, routedBy: String)
    }

    let routing: RoutingSource
    let node: String
    let postOp: ActivationKind?
    let inputShape: [Int]
    let outputShape: [Int]
    let primitive: ConvPrimitive
    /// One binding of `primitive` per worker thread of a sample-parallel batch.
    let bindings: [PrimitiveBinding]
    let bank: ExpertBank
    /// `[K, out]`, nil when the layer has no bias.
    let expertBias: AlignedBuffer?
    /// `[out]`: a folded batch norm's shift, added to the aggregated bias (externally routed layers only).
    let biasShift: AlignedBuffer?
    /// FC1's weights: fp32, or fp16 with fp16 experts (`fc1Half`): after the experts, FC1 is the largest
    /// weight a request reads (up to 0.9 MB per layer of dy-mobilenetv2), and it is read from memory.
    /// Empty for externally routed layers (`hidden` 0).
    let fc1: AlignedBuffer, fc1Half: Bool
    let fc1Bias: AlignedBuffer?, fc2: AlignedBuffer, fc2Bias: AlignedBuffer?
    let hidden: Int
    /// The attention's pooling and FC1, split across the threads (`logits(sample:)`).
    let pooling: PixelSplitPooling

    convenience init(op: DynamicConv2d, node: String, postOp: ActivationKind?, inputShape: [Int], outputShape: [Int],
                     context: DNNLContext, precision: ExpertPrecision) throws(FastEngineError) {
        try self.init(routing: .attention(op), experts: op.experts, expertBias: op.expertBias, biasShift: nil,
                      geometry: op.geometry, node: node, postOp: postOp, inputShape: inputShape, outputShape: outputShape,
                      context: context, precision: precision)
    }

    /// An externally routed convolution reading its routing weights from value slot `routingSlot`, with the
    /// batch norm that follows it folded in when given.
    convenience init(routed op: RoutedDynamicConv2d, routingSlot: Int, folding batchNorm: BatchNorm?, node: String,
                     postOp: ActivationKind?, inputShape: [Int], outputShape: [Int],
                     context: DNNLContext, precision: ExpertPrecision) throws(FastEngineError) {
        let (folded, shift) = batchNorm.map { op.folding($0) } ?? (op, nil)
        try self.init(routing: .external(slot: routingSlot, routedBy: op.routedBy), experts: folded.experts,
                      expertBias: folded.expertBias, biasShift: shift, geometry: op.geometry, node: node, postOp: postOp,
                      inputShape: inputShape, outputShape: outputShape, context: context, precision: precision)
    }

    private init(routing: RoutingSource, experts: Tensor, expertBias: Tensor?, biasShift: [Float]?, geometry: ConvGeometry,
                 node: String, postOp: ActivationKind?, inputShape: [Int], outputShape: [Int],
                 context: DNNLContext, precision: ExpertPrecision) throws(FastEngineError) {
        self.routing = routing
        self.node = node
        self.postOp = postOp
        self.inputShape = [1] + inputShape.dropFirst()
        self.outputShape = [1] + outputShape.dropFirst()
        let shape = ConvShape(batch: 1, input: self.inputShape, output: self.outputShape, geometry: geometry)
        primitive = try ConvPrimitive(context: context, shape: shape, hasBias: expertBias != nil || biasShift != nil,
                                      postOp: postOp, node: node)
        var bindings: [PrimitiveBinding] = []
        for _ in context.streams.indices { bindings.append(try primitive.makeBinding(context: context, node: node)) }
        self.bindings = bindings
        pooling = PixelSplitPooling(channels: self.inputShape[1], slots: context.streams.count)
        bank = try ExpertBank(context: context, experts: experts, primitive: primitive, precision: precision, node: node)
        self.expertBias = expertBias.map(Self.copy)
        self.biasShift = biasShift.map { Self.copy(Tensor(shape: [$0.count], data: $0)) }
        fc1Half = precision == .fp16
        if case .attention(let op) = routing {
            fc1 = fc1Half ? Self.halves(op.attention.fc1Weight) : Self.copy(op.attention.fc1Weight)
            fc1Bias = op.attention.fc1Bias.map(Self.copy)
            fc2 = Self.copy(op.attention.fc2Weight)
            fc2Bias = op.attention.fc2Bias.map(Self.copy)
            hidden = op.attention.hiddenCount
        } else {
            (fc1, fc1Bias, fc2, fc2Bias, hidden) = (AlignedBuffer(floats: 0), nil, AlignedBuffer(floats: 0), nil, 0)
        }
    }

    /// The layer's own attention op; nil when another node routes it.
    var attentionOp: DynamicConv2d? {
        if case .attention(let op) = routing { return op }
        return nil
    }

    /// Whether the convolution adds a bias (expert biases, a folded batch norm's shift, or both).
    var hasBias: Bool { expertBias != nil || biasShift != nil }

    private static func copy(_ tensor: Tensor) -> AlignedBuffer {
        let buffer = AlignedBuffer(floats: tensor.count)
        for i in 0..<tensor.count { buffer.floats[i] = tensor.data[i] }
        return buffer
    }

    private static func halves(_ tensor: Tensor) -> AlignedBuffer {
        let buffer = AlignedBuffer(byteCount: tensor.count * MemoryLayout<UInt16>.stride)
        let halves = buffer.raw.assumingMemoryBound(to: UInt16.self)
        for i in 0..<tensor.count { halves[i] = HalfPrecision.halfFromFloat(tensor.data[i]) }
        return buffer
    }

    var experts: Int { bank.experts }
    var inChannels: Int { inputShape[1] }
    var outChannels: Int { outputShape[1] }
    var inputPixels: Int { inputShape[2] * inputShape[3] }
    /// Floats of one sample's input and output.
    var inputCount: Int { inChannels * inputPixels }
    var outputCount: Int { outputShape[1] * outputShape[2] * outputShape[3] }

    /// Whether a batch should take this layer sample by sample, each sample aggregating its own kernel
    /// (see `FastExecution.dynamicChain`): when one sample's input outweighs all of the layer's experts,
    /// re-reading the experts per sample costs less than the activations falling out of cache.
    /// Externally routed layers never do: a chain computes each layer's attention itself.
    var prefersSampleBySample: Bool { attentionOp != nil && bank.count * experts <= inputCount }

    /// Channel means of one NHWC output sample: the next layer's attention input.
    func outputMeans(_ sample: UnsafePointer<Float>, into means: UnsafeMutablePointer<Float>, avx2: Bool) {
        NHWCKernels.channelMeans(sample, pixels: outputShape[2] * outputShape[3], channels: outChannels, into: means, avx2: avx2)
    }

    /// Attention logits `z[K]` of one NHWC sample: pooled channel means into `pooled`, then
    /// `FC2(ReLU(FC1(pooled)))`. Large inputs split the pooling (by pixels) and FC1 (by rows) across
    /// OpenMP's threads.
    func logits(sample: UnsafePointer<Float>, pixels: Int, pooled: UnsafeMutablePointer<Float>,
                hiddenScratch: UnsafeMutablePointer<Float>, into z: UnsafeMutablePointer<Float>, avx2: Bool, threads: Int) {
        pooling.run(sample, pixels: pixels, into: pooled,
                    fc1: PixelSplitPooling.FC1(weights: fc1.raw, half: fc1Half, bias: fc1Bias?.floats, hidden: hidden,
                                               output: hiddenScratch),
                    avx2: avx2, threads: threads)
        logits(hidden: hiddenScratch, into: z, avx2: avx2)
    }

    /// Attention logits `z[K]` of one sample from its pooled channel means: `FC2(ReLU(FC1(pooled)))`.
    func logits(pooled: UnsafePointer<Float>, hiddenScratch: UnsafeMutablePointer<Float>,
                into z: UnsafeMutablePointer<Float>, avx2: Bool) {
        dy_fc_rows(fc1.raw, fc1Half ? 1 : 0, fc1Bias?.floats, pooled, 0, Int32(hidden), Int32(inChannels), 1,
                   avx2 ? 1 : 0, hiddenScratch)
        logits(hidden: hiddenScratch, into: z, avx2: avx2)
    }

    /// FC1 + ReLU rows `rows` of `samples` samples at once, sample n's pooled means at `pooled + n * pooledStride`,
    /// its hidden values at `hidden + n * hiddenStride`: each FC1 row is read once for the whole batch.
    func hiddenRows(_ rows: Range<Int>, samples: Int, pooled: UnsafePointer<Float>, pooledStride: Int,
                    into hidden: UnsafeMutablePointer<Float>, hiddenStride: Int, avx2: Bool) {
        dy_fc_rows_samples(fc1.raw, fc1Half ? 1 : 0, fc1Bias?.floats, pooled, Int32(pooledStride), Int32(samples),
                           Int32(rows.lowerBound), Int32(rows.upperBound), Int32(inChannels), 1, avx2 ? 1 : 0,
                           hidden, Int32(hiddenStride))
    }

    /// Attention logits `z[K] = FC2(h)` of one sample from its hidden layer `h` (FC1 and ReLU applied).
    func logits(hidden h: UnsafeMutablePointer<Float>, into z: UnsafeMutablePointer<Float>, avx2: Bool) {
        dy_matvec(fc2.floats, fc2Bias?.floats, h, Int32(experts), Int32(hidden), 0, avx2 ? 1 : 0, z)
    }

    /// Channel means of one NHWC input sample: this layer's attention input.
    func inputMeans(_ sample: UnsafePointer<Float>, into means: UnsafeMutablePointer<Float>, avx2: Bool) {
        NHWCKernels.channelMeans(sample, pixels: inputPixels, channels: inChannels, into: means, avx2: avx2)
    }

    /// `bias[o] = sum_k pi[k] b_k[o]` for one sample (the aggregation loop over the expert biases), plus
    /// a folded batch norm's shift.
    func aggregateBias(pi: UnsafePointer<Float>, into bias: UnsafeMutablePointer<Float>, avx2: Bool) {
        let out = outChannels
        if let expertBias {
            dy_aggregate(expertBias.floats, 0, out, out, Int32(experts), pi, avx2 ? 1 : 0, bias)
        }
        guard let biasShift else { return }
        if expertBias == nil {
            bias.update(from: biasShift.floats, count: out)
        } else {
            for o in 0..<out { bias[o] += biasShift.floats[o] }
        }
    }
}
