import CDNNL

/// Dynamic convolutions in a fast forward pass: attention, aggregation of each sample's kernel, and one
/// batch-1 convolution per sample.
extension FastExecution {
    /// One layer over the whole batch. A sample-parallel plan (`FastPlan.workers > 1`) computes the
    /// samples' attention side by side, aggregates every kernel in one pass over the experts, then runs
    /// the samples' convolutions side by side, one per thread; the samples left over when the batch does
    /// not divide among the threads run one by one on all of them. `means`: the input's channel means may
    /// come from the previous layer, and the output's may be left for the next one.
    /// `timing(phase, ns)`: 0 attention, 1 aggregation, 2 convolution (including that pooling).
    func dynamicConvolution(_ layer: DynamicConvLayer, aggregation: MatmulPrimitive?, input: UnsafeMutablePointer<Float>,
                            output: UnsafeMutablePointer<Float>, means: PooledMeans, avx2: Bool,
                            timing: ((Int, UInt64) -> Void)?, lap: () -> UInt64) -> LayerTrace? {
        let batch = plan.batch
        let k = layer.experts
        let (inSample, outSample) = (layer.inputCount, layer.outputCount)
        let pi = plan.routing.floats
        let workers = plan.workers
        let threads = engine.options.threads

        /// Routing weights of sample `n` into `pi[n]`, with worker `w`'s scratch (single-threaded when w > 0).
        func route(_ n: Int, worker w: Int, threads: Int) {
            let z = plan.logits.floats + w * plan.logitsStride
            let hidden = plan.hidden.floats + w * plan.hiddenStride
            if means.fromPrevious {
                layer.logits(pooled: plan.batchMeans.floats + n * plan.pooledStride, hiddenScratch: hidden, into: z, avx2: avx2)
            } else {
                layer.logits(sample: input + n * inSample, pixels: layer.inputPixels, pooled: plan.pooled.floats + w * plan.pooledStride,
                             hiddenScratch: hidden, into: z, avx2: avx2, threads: threads)
            }
            routingWeights(layer, logits: z, into: pi + n * k)
        }
        func convolve(_ n: Int, kernel: UnsafeMutablePointer<Float>, worker w: Int) {
            convolveSample(layer, source: input + n * inSample, destination: output + n * outSample, kernel: kernel,
                           bias: plan.biases.floats + n * plan.biasStride, worker: w)
            if means.forNext {
                layer.outputMeans(output + n * outSample, into: plan.batchMeans.floats + n * plan.pooledStride, avx2: avx2)
            }
        }

        if workers > 1 {
            _ = OpenMPThreads.forEachThread(workers) { me, team in
                for n in stride(from: me, to: batch, by: team) { route(n, worker: me, threads: 1) }
            }
        } else {
            for n in 0..<batch { route(n, worker: 0, threads: threads) }
        }
        timing?(0, lap())
        for n in 0..<batch { layer.aggregateBias(pi: pi + n * k, into: plan.biases.floats + n * plan.biasStride) }
        let kernels = plan.kernels.floats
        if let aggregation {
            // All kernels of the batch in one matmul.
            aggregation.execute(stream: engine.context.stream, source: UnsafeMutableRawPointer(pi), weights: layer.bank.raw,
                                destination: UnsafeMutableRawPointer(kernels), scratchpad: plan.scratchpad.raw)
            timing?(1, lap())
        } else if workers > 1 {
            // All kernels of the batch in one pass over the experts.
            layer.bank.aggregate(pi: pi, samples: batch, into: kernels, avx2: avx2, threads: threads)
            timing?(1, lap())
        }
        let together = aggregation != nil || workers > 1
        var next = 0
        if workers > 1 {
            let sideBySide = batch - batch % workers
            _ = OpenMPThreads.forEachThread(workers) { me, team in
                // A team smaller than asked for still covers every sample of the side-by-side part.
                for n in stride(from: me, to: sideBySide, by: team) {
                    convolve(n, kernel: kernels + n * layer.bank.count, worker: me)
                }
            }
            next = sideBySide
            timing?(2, lap())
        }
        for n in next..<batch {
            var kernel = kernels + n * layer.bank.count
            if !together {
                // One sample's kernel right before its convolution, so the kernel is still in cache when
                // the convolution reads it.
                kernel = kernels
                layer.bank.aggregate(pi: pi + n * k, samples: 1, into: kernel, avx2: avx2, threads: threads)
                timing?(1, lap())
            }
            convolve(n, kernel: kernel, worker: -1)
            timing?(2, lap())
        }
        return attentionTrace(layer, pi: pi)
    }

    /// A chain of layers, each reading the previous one's output, sample by sample: each thread takes a
    /// sample through every layer of the chain (attention, its own kernel, convolution, the next layer's
    /// pooling) before the next sample, so the sample's activations stay in its core's cache from one
    /// layer to the next. Worth it where activations are large and experts small (the early layers):
    /// each sample reads the experts itself, which costs little there. `timings[j]`: layer j's
    /// (attention, aggregation, convolution) nanoseconds, summed over threads and divided by their number.
    func dynamicChain(_ links: [ChainLink], means: PooledMeans, buffers: [UnsafeMutablePointer<Float>], avx2: Bool,
                      profile: Bool) -> (traces: [LayerTrace?], timings: [(UInt64, UInt64, UInt64)]) {
        let batch = plan.batch
        let workers = plan.workers
        let routingStride = batch * plan.routingLayerStride
        // Raw memory, not arrays: the threads write it at once (each its own elements), which Swift's
        // exclusivity checks would refuse for a captured variable.
        let spent = UnsafeMutablePointer<UInt64>.allocate(capacity: workers * links.count * 3 + 1)
        spent.initialize(repeating: 0, count: workers * links.count * 3 + 1)
        defer { spent.deallocate() }
        let team = spent + workers * links.count * 3
        _ = OpenMPThreads.forEachThread(workers) { me, size in
            if me == 0 { team.pointee = UInt64(size) }
            let pooled = plan.pooled.floats + me * plan.pooledStride
            let hidden = plan.hidden.floats + me * plan.hiddenStride
            let z = plan.logits.floats + me * plan.logitsStride
            let kernel = plan.kernels.floats + me * plan.chainKernelStride
            for n in stride(from: me, to: batch, by: size) {
                let bias = plan.biases.floats + n * plan.biasStride
                for (j, link) in links.enumerated() {
                    let layer = link.layer
                    var clock = profile ? monotonicNanoseconds() : 0
                    func phase(_ index: Int) {
                        guard profile else { return }
                        let now = monotonicNanoseconds()
                        spent[(me * links.count + j) * 3 + index] += now - clock
                        clock = now
                    }
                    let source = buffers[link.input] + n * layer.inputCount
                    let destination = buffers[link.output] + n * layer.outputCount
                    let pi = plan.routing.floats + j * routingStride + n * layer.experts
                    if j > 0 {
                        layer.logits(pooled: pooled, hiddenScratch: hidden, into: z, avx2: avx2)
                    } else if means.fromPrevious {
                        layer.logits(pooled: plan.batchMeans.floats + n * plan.pooledStride, hiddenScratch: hidden, into: z, avx2: avx2)
                    } else {
                        layer.logits(sample: source, pixels: layer.inputPixels, pooled: pooled, hiddenScratch: hidden,
                                     into: z, avx2: avx2, threads: 1)
                    }
                    routingWeights(layer, logits: z, into: pi)
                    phase(0)
                    layer.aggregateBias(pi: pi, into: bias)
                    layer.bank.aggregate(pi: pi, samples: 1, into: kernel, avx2: avx2, threads: 1)
                    phase(1)
                    convolveSample(layer, source: source, destination: destination, kernel: kernel, bias: bias, worker: me)
                    if j + 1 < links.count {
                        layer.outputMeans(destination, into: pooled, avx2: avx2)
                    } else if means.forNext {
                        layer.outputMeans(destination, into: plan.batchMeans.floats + n * plan.pooledStride, avx2: avx2)
                    }
                    phase(2)
                }
            }
        }
        let traces = links.enumerated().map { j, link in
            attentionTrace(link.layer, pi: plan.routing.floats + j * routingStride)
        }
        let timings = links.indices.map { j -> (UInt64, UInt64, UInt64) in
            var sums: (UInt64, UInt64, UInt64) = (0, 0, 0)
            for w in 0..<workers {
                let base = (w * links.count + j) * 3
                sums = (sums.0 + spent[base], sums.1 + spent[base + 1], sums.2 + spent[base + 2])
            }
            let t = max(team.pointee, 1)
            return (sums.0 / t, sums.1 / t, sums.2 / t)
        }
        return (traces, timings)
    }

    /// Routing weights from one sample's logits `z` (softmax with the effective temperature, or sigmoid).
    private func routingWeights(_ layer: DynamicConvLayer, logits z: UnsafeMutablePointer<Float>, into pi: UnsafeMutablePointer<Float>) {
        let logits = Array(UnsafeBufferPointer(start: z, count: layer.experts))
        let weights: [Float] = switch layer.op.routing {
        case .softmax: Probability.softmax(logits, temperature: layer.op.effectiveTemperature(options))
        case .sigmoid: logits.map(Probability.sigmoid)
        }
        for e in 0..<layer.experts { pi[e] = weights[e] }
    }

    /// One sample's convolution with its kernel and aggregated bias, on worker `w`'s binding, stream and
    /// scratchpad (w < 0: the calling thread's, the primitive free to use every thread).
    private func convolveSample(_ layer: DynamicConvLayer, source: UnsafeMutablePointer<Float>, destination: UnsafeMutablePointer<Float>,
                                kernel: UnsafeMutablePointer<Float>, bias: UnsafeMutablePointer<Float>, worker w: Int) {
        layer.primitive.execute(stream: engine.context.streams[max(w, 0)], source: UnsafeMutableRawPointer(source),
                                weights: UnsafeMutableRawPointer(kernel),
                                bias: layer.expertBias == nil ? nil : UnsafeMutableRawPointer(bias),
                                destination: UnsafeMutableRawPointer(destination),
                                scratchpad: w < 0 ? plan.scratchpad.raw : plan.workerScratchpads[w].raw,
                                binding: w < 0 ? nil : layer.bindings[w])
    }

    /// The attention trace of one layer from the batch's routing weights `pi[n][k]`, when traces are on.
    private func attentionTrace(_ layer: DynamicConvLayer, pi: UnsafeMutablePointer<Float>) -> LayerTrace? {
        guard options.trace >= .attention else { return nil }
        let op = layer.op
        let tau = op.effectiveTemperature(options)
        let pis = (0..<plan.batch).map { n in Array(UnsafeBufferPointer(start: pi + n * layer.experts, count: layer.experts)) }
        return LayerTrace(op: op.opName, attention: AttentionTrace(
            routing: op.routing.rawValue, temperature: op.routing == .softmax ? tau : 1,
            pi: pis, entropy: pis.map(Probability.entropy)))
    }
}
