import CDNNL
import Foundation

/// DY-ReLU in a fast forward pass: one parallel region over the whole batch, each thread a contiguous
/// slice of the batch's pixels, in three phases separated by barriers:
/// 1. pooling: each thread sums its rows per channel (and, for DY-ReLU-C, computes each row's spatial
///    logit in the same read);
/// 2. the hyper network for the whole batch: each thread sums the threads' partial sums into channel
///    means of its own (a few thousand additions, where a shared copy would cost a barrier), FC1 and FC2
///    with each thread a slice of the rows for every sample (each weight row read once per batch),
///    squashed straight into the slopes and intercepts; DY-ReLU-C's softmax over the pixels, each thread
///    exponentiating its own rows against the global maximum;
/// 3. apply: `max_k (a x + b)` (times the spatial map) on the same rows, one read and one write.
/// So the input is read twice (pooling, apply) and written once, split over every thread, where the
/// pooling cannot come earlier: the coefficients depend on the whole sample's means.
extension FastExecution {
    func dyReLU(_ layer: DyReLULayer, input: UnsafeMutablePointer<Float>, output: UnsafeMutablePointer<Float>,
                avx2: Bool) -> LayerTrace? {
        // Two threads save about half of the three touches of the activation per element. The hyper weights
        // count too: on small late activations the FCs are most of the pass.
        let elements = layer.batch * layer.pixels * layer.channels + layer.hyperWeights
        if layer.workers > 1, OpenMPThreads.worthSplitting(elements, savedPerElement: 0.15, floor: 32_768),
           OpenMPThreads.forEachThread(layer.workers, { me, team in
               guard let barrier = OpenMPThreads.barrier else { return }
               dyReLUPhases(layer, input: input, output: output, me: me, team: team, barrier: { barrier() }, avx2: avx2)
           }) {
            return dyReLUTrace(layer)
        }
        dyReLUPhases(layer, input: input, output: output, me: 0, team: 1, barrier: {}, avx2: avx2)
        return dyReLUTrace(layer)
    }

    /// Thread `me` of `team`'s share of the three phases.
    private func dyReLUPhases(_ layer: DyReLULayer, input: UnsafeMutablePointer<Float>, output: UnsafeMutablePointer<Float>,
                              me: Int, team: Int, barrier: () -> Void, avx2: Bool) {
        let (batch, pixels, channels) = (layer.batch, layer.pixels, layer.channels)
        let units = batch * pixels
        let rows = units * me / team..<units * (me + 1) / team
        let op = layer.op
        let spatialWeight = layer.weights.spatialWeight
        let spatialBias = op.spatial?.bias ?? 0
        /// Runs `body(n, firstPixel, count)` over this thread's rows, one sample's segment at a time.
        func segments(_ body: (Int, Int, Int) -> Void) {
            var unit = rows.lowerBound
            while unit < rows.upperBound {
                let (n, p) = unit.quotientAndRemainder(dividingBy: pixels)
                let count = min(pixels - p, rows.upperBound - unit)
                body(n, p, count)
                unit += count
            }
        }
        func partial(_ w: Int, _ n: Int) -> UnsafeMutablePointer<Float> { layer.partialSums.floats + (w * batch + n) * layer.channelStride }

        // The trace sums the threads' partial totals: as many as actually ran.
        if me == 0 { layer.team = team }

        // 1. Pooling (and DY-ReLU-C's spatial logits and their maximum).
        for n in 0..<batch {
            partial(me, n).initialize(repeating: 0, count: channels)
            layer.partialMax?.floats[(me * batch + n) * 16] = -.infinity
        }
        segments { n, p, count in
            let offset = n * pixels + p
            let z = layer.spatial.map { $0.floats + offset }
            dy_dyrelu_pool_rows(input + offset * channels, Int32(count), Int32(channels), partial(me, n), spatialWeight,
                                spatialBias, z, avx2 ? 1 : 0)
            if let z, let partialMax = layer.partialMax {
                var top = partialMax.floats[(me * batch + n) * 16]
                for i in 0..<count { top = max(top, z[i]) }
                partialMax.floats[(me * batch + n) * 16] = top
            }
        }
        barrier()

        // 2. Channel means, DY-ReLU-C's softmax weights, FC1, FC2 and the squash.
        let scale = 1 / Float(pixels)
        let means = layer.pooled(me)
        for n in 0..<batch {
            let pooled = means + n * layer.channelStride
            for c in 0..<channels {
                var sum: Float = 0
                for w in 0..<team { sum += partial(w, n)[c] }
                pooled[c] = sum * scale
            }
        }
        if let spatial = layer.spatial, let partialMax = layer.partialMax, let partialTotal = layer.partialTotal,
           let tau = op.spatial?.tau {
            var tops = [Float](repeating: -.infinity, count: batch)
            for n in 0..<batch {
                for w in 0..<team { tops[n] = max(tops[n], partialMax.floats[(w * batch + n) * 16]) }
                partialTotal.floats[(me * batch + n) * 16] = 0
            }
            segments { n, p, count in
                let e = spatial.floats + n * pixels + p
                var total: Float = 0
                for i in 0..<count {
                    e[i] = Foundation.exp((e[i] - tops[n]) / tau)
                    total += e[i]
                }
                partialTotal.floats[(me * batch + n) * 16] += total
            }
        }
        let (hidden, outputs) = (layer.hidden, layer.outputs)
        dy_fc_rows_samples(layer.weights.fc1, 0, layer.weights.fc1Bias, means, Int32(layer.channelStride), Int32(batch),
                           Int32(hidden * me / team), Int32(hidden * (me + 1) / team), Int32(channels), 1, avx2 ? 1 : 0,
                           layer.hiddenValues.floats, Int32(layer.hiddenStride))
        barrier()
        let mine = outputs * me / team..<outputs * (me + 1) / team
        dy_fc_rows_samples(layer.weights.fc2, 0, layer.weights.fc2Bias, layer.hiddenValues.floats, Int32(layer.hiddenStride), Int32(batch),
                           Int32(mine.lowerBound), Int32(mine.upperBound), Int32(hidden), 0, avx2 ? 1 : 0,
                           layer.logits.floats, Int32(layer.outputStride))
        let weights = layer.weights
        for n in 0..<batch {
            let z = layer.logits.floats + n * layer.outputStride
            let (a, b) = (layer.slopes(n), layer.intercepts(n))
            if op.variant == .a {
                // Variant A: one value per piece, the same for every channel.
                for o in mine {
                    let value = weights.offsets.floats[o] + weights.gains.floats[o] * op.squash(z[o])
                    let d = weights.destination[o]
                    let target = d >= 0 ? a : b
                    (target + (d >= 0 ? d : -1 - d) / channels * channels).initialize(repeating: value, count: channels)
                }
            } else {
                weights.targets.withUnsafeBufferPointer { targets in
                    dy_dyrelu_coefficients(z, Int32(mine.lowerBound), Int32(mine.upperBound), op.squash == .sigmoid ? 1 : 0,
                                           targets.baseAddress, weights.offsets.floats, weights.gains.floats, a, b, avx2 ? 1 : 0)
                }
            }
        }
        barrier()
        if me == 0 { layer.coefficientsReadyNs = monotonicNanoseconds() }

        // 3. Apply.
        let gamma = op.spatial?.gamma ?? Float(pixels) / 3
        segments { n, p, count in
            let offset = n * pixels + p
            var mapScale: Float = 0
            if let partialTotal = layer.partialTotal {
                var total: Float = 0
                for w in 0..<team { total += partialTotal.floats[(w * batch + n) * 16] }
                mapScale = gamma / total
            }
            dy_dyrelu_apply_rows(input + offset * channels, output + offset * channels, Int32(count), Int32(channels),
                                 Int32(op.pieces), layer.slopes(n), layer.intercepts(n), layer.spatial.map { $0.floats + offset },
                                 mapScale, avx2 ? 1 : 0)
        }
    }

    /// The full trace of the pass just run (the reference's form: `[K * C']` coefficients per sample, and
    /// DY-ReLU-C's map), when asked for.
    private func dyReLUTrace(_ layer: DyReLULayer) -> LayerTrace? {
        guard options.trace == .full else { return nil }
        let op = layer.op
        let (channels, pixels) = (layer.channels, layer.pixels)
        let cc = op.coefficientChannels(channels: channels)
        func coefficients(_ values: UnsafeMutablePointer<Float>) -> [Float] {
            (0..<op.pieces).flatMap { k in (0..<cc).map { c in values[k * channels + c] } }
        }
        var maps: [[Float]]?
        if let spatial = layer.spatial, let partialTotal = layer.partialTotal {
            let gamma = op.spatial?.gamma ?? Float(pixels) / 3
            maps = (0..<layer.batch).map { n in
                var total: Float = 0
                for w in 0..<layer.team { total += partialTotal.floats[(w * layer.batch + n) * 16] }
                return (0..<pixels).map { min(gamma / total * spatial.floats[n * pixels + $0], 1) }
            }
        }
        return LayerTrace(op: op.opName, activation: ActivationTrace(
            variant: op.variant.rawValue, pieces: op.pieces, channels: cc,
            a: (0..<layer.batch).map { coefficients(layer.slopes($0)) },
            b: (0..<layer.batch).map { coefficients(layer.intercepts($0)) },
            spatial: maps, height: maps == nil ? nil : layer.height, width: maps == nil ? nil : layer.width))
    }
}
