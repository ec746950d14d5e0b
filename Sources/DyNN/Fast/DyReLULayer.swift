/// A DY-ReLU's hyper network for the C kernels (its weights in the model's `DyReLUWeightArena`), and where
/// each FC2 row's squashed output goes (slope or intercept, piece, channel) for the model's coefficient
/// layout. Made once per node when the engine is built and shared by every plan's `DyReLULayer`.
final class DyReLUWeights: @unchecked Sendable {
    let op: DyReLU
    let hidden: Int
    /// FC2 outputs: 2K (variant A) or 2KC; K or KC without learned intercepts.
    let outputs: Int
    /// Slices of `arena`, which this object keeps alive.
    let fc1: UnsafeMutablePointer<Float>, fc1Bias: UnsafeMutablePointer<Float>?
    let fc2: UnsafeMutablePointer<Float>, fc2Bias: UnsafeMutablePointer<Float>?
    let spatialWeight: UnsafeMutablePointer<Float>?
    private let arena: DyReLUWeightArena
    /// Per FC2 output o: the index into a sample's `[K * channels]` slopes (>= 0) or, as `-1 - index`,
    /// intercepts. Variant A's outputs name channel 0 and are broadcast to every channel.
    let destination: [Int]
    /// The same per output for `dy_dyrelu_coefficients`: `destination` as 32-bit integers, and the
    /// coefficient's offset and gain (alpha_k and lambdaA for a slope, beta_k and lambdaB for an intercept).
    let targets: [Int32], offsets: AlignedBuffer, gains: AlignedBuffer

    init(op: DyReLU, channels: Int, arena: DyReLUWeightArena) {
        self.op = op
        self.arena = arena
        hidden = op.hyper.hiddenCount
        outputs = op.hyper.outputCount
        fc1 = arena.copy(op.hyper.fc1Weight.data)
        fc1Bias = op.hyper.fc1Bias.map { arena.copy($0.data) }
        fc2 = arena.copy(op.hyper.fc2Weight.data)
        fc2Bias = op.hyper.fc2Bias.map { arena.copy($0.data) }
        spatialWeight = op.variant == .c ? op.spatial.map { arena.copy($0.weight.data) } : nil
        let cc = op.coefficientChannels(channels: channels)
        let learned = op.learnsIntercepts
        var destination = [Int](repeating: 0, count: (learned ? 2 : 1) * op.pieces * cc)
        for k in 0..<op.pieces {
            for c in 0..<cc {
                destination[op.layout.slopeIndex(piece: k, channel: c, pieces: op.pieces, channels: cc, intercepts: learned)] = k * channels + c
                if learned {
                    destination[op.layout.interceptIndex(piece: k, channel: c, pieces: op.pieces, channels: cc)] = -1 - (k * channels + c)
                }
            }
        }
        self.destination = destination
        targets = destination.map { Int32($0) }
        offsets = AlignedBuffer(floats: destination.count)
        gains = AlignedBuffer(floats: destination.count)
        for (o, d) in destination.enumerated() {
            let k = (d >= 0 ? d : -1 - d) / channels
            offsets.floats[o] = d >= 0 ? op.alpha[k] : op.beta[k]
            gains.floats[o] = d >= 0 ? op.lambdaA : op.lambdaB
        }
    }
}

/// A DY-ReLU on the fast path for one plan (one batch size): the node's shared weights and the scratch
/// memory of a pass. The scratch is the layer's own: passes of an engine are serialised, and each plan
/// has its own layers.
final class DyReLULayer: @unchecked Sendable {
    let weights: DyReLUWeights
    let batch: Int, channels: Int, height: Int, width: Int
    /// Threads the pass is split across (the engine's workers).
    let workers: Int

    var op: DyReLU { weights.op }
    var hidden: Int { weights.hidden }
    var outputs: Int { weights.outputs }

    /// Floats between samples in the per-sample scratch (padded to 16, so threads never share a line).
    let channelStride: Int, hiddenStride: Int, outputStride: Int, coefficientStride: Int
    /// Per worker and sample, partial channel sums: `(w * batch + n) * channelStride`.
    let partialSums: AlignedBuffer
    /// Per worker and sample, the channel means (each thread's own copy): `(w * batch + n) * channelStride`.
    /// Per sample: hidden layer, FC2 outputs, slopes `[K * channels]`, intercepts.
    let pooled: AlignedBuffer, hiddenValues: AlignedBuffer, logits: AlignedBuffer, slopes: AlignedBuffer, intercepts: AlignedBuffer
    /// Variant C: per sample and pixel, the spatial logit, then its softmax weight before normalisation;
    /// per worker and sample (16 floats apart), the partial maximum and the partial sum of the weights.
    let spatial: AlignedBuffer?, partialMax: AlignedBuffer?, partialTotal: AlignedBuffer?

    /// Threads of the last pass (the team OpenMP gave it, or 1), set by its thread 0.
    var team = 1
    /// When the last pass's coefficients were ready (monotonic ns, set by its thread 0): the profile's
    /// split between pooling + hyper network and the piecewise-linear pass.
    var coefficientsReadyNs: UInt64 = 0

    var pixels: Int { height * width }

    init(weights: DyReLUWeights, batch: Int, channels: Int, height: Int, width: Int, workers: Int) {
        self.weights = weights
        (self.batch, self.channels, self.height, self.width) = (batch, channels, height, width)
        self.workers = max(workers, 1)
        func padded(_ floats: Int) -> Int { (floats + 15) / 16 * 16 }
        channelStride = padded(channels)
        hiddenStride = padded(weights.hidden)
        outputStride = padded(weights.outputs)
        coefficientStride = padded(weights.op.pieces * channels)
        partialSums = AlignedBuffer(floats: self.workers * batch * channelStride)
        pooled = AlignedBuffer(floats: self.workers * batch * channelStride)
        hiddenValues = AlignedBuffer(floats: batch * hiddenStride)
        logits = AlignedBuffer(floats: batch * outputStride)
        slopes = AlignedBuffer(floats: batch * coefficientStride)
        intercepts = AlignedBuffer(floats: batch * coefficientStride)
        // Without learned intercepts (`bias: false`) every b^k_c is the constant beta_k: written once here,
        // since no FC2 output ever lands in this buffer.
        if !weights.op.learnsIntercepts {
            for n in 0..<batch {
                for k in 0..<weights.op.pieces {
                    (intercepts.floats + n * coefficientStride + k * channels).initialize(repeating: weights.op.beta[k], count: channels)
                }
            }
        }
        let spatialPass = weights.spatialWeight != nil
        spatial = spatialPass ? AlignedBuffer(floats: batch * height * width) : nil
        partialMax = spatialPass ? AlignedBuffer(floats: self.workers * batch * 16) : nil
        partialTotal = spatialPass ? AlignedBuffer(floats: self.workers * batch * 16) : nil
    }

    /// Worker w's channel means, sample after sample `channelStride` apart.
    func pooled(_ w: Int) -> UnsafeMutablePointer<Float> { pooled.floats + w * batch * channelStride }

    /// Hyper-network weights (FC1 and FC2) the pass reads.
    var hyperWeights: Int { hidden * channels + outputs * hidden }

    /// Sample n's slopes and intercepts, `[K * channels]` indexed `k * channels + c`.
    func slopes(_ n: Int) -> UnsafeMutablePointer<Float> { slopes.floats + n * coefficientStride }
    func intercepts(_ n: Int) -> UnsafeMutablePointer<Float> { intercepts.floats + n * coefficientStride }
}
