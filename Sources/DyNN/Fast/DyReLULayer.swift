/// A DY-ReLU's hyper network in aligned buffers for the C kernels, and where each FC2 row's squashed
/// output goes (slope or intercept, piece, channel) for the model's coefficient layout. Made once per
/// node when the engine is built and shared by every plan's `DyReLULayer`.
final class DyReLUWeights: @unchecked Sendable {
    let op: DyReLU
    let hidden: Int
    /// FC2 outputs: 2K (variant A) or 2KC; K or KC without learned intercepts.
    let outputs: Int
    let fc1: AlignedBuffer, fc1Bias: AlignedBuffer?, fc2: AlignedBuffer, fc2Bias: AlignedBuffer?
    let spatialWeight: AlignedBuffer?
    /// Per FC2 output o: the index into a sample's `[K * channels]` slopes (>= 0) or, as `-1 - index`,
    /// intercepts. Variant A's outputs name channel 0 and are broadcast to every channel.
    let destination: [Int]

    init(op: DyReLU, channels: Int) {
        self.op = op
        hidden = op.hyper.hiddenCount
        outputs = op.hyper.outputCount
        fc1 = Self.copy(op.hyper.fc1Weight.data)
        fc1Bias = op.hyper.fc1Bias.map { Self.copy($0.data) }
        fc2 = Self.copy(op.hyper.fc2Weight.data)
        fc2Bias = op.hyper.fc2Bias.map { Self.copy($0.data) }
        spatialWeight = op.variant == .c ? op.spatial.map { Self.copy($0.weight.data) } : nil
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
    }

    private static func copy(_ values: [Float]) -> AlignedBuffer {
        let buffer = AlignedBuffer(floats: values.count)
        for i in values.indices { buffer.floats[i] = values[i] }
        return buffer
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
    /// Per sample: channel means, hidden layer, FC2 outputs, slopes `[K * channels]`, intercepts.
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
        pooled = AlignedBuffer(floats: batch * channelStride)
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

    /// Sample n's slopes and intercepts, `[K * channels]` indexed `k * channels + c`.
    func slopes(_ n: Int) -> UnsafeMutablePointer<Float> { slopes.floats + n * coefficientStride }
    func intercepts(_ n: Int) -> UnsafeMutablePointer<Float> { intercepts.floats + n * coefficientStride }
}
