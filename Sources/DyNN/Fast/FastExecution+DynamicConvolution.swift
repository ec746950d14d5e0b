import CDNNL

/// Dynamic convolutions in a fast forward pass: attention, aggregation of each sample's kernel, and one
/// batch-1 convolution per sample.
extension FastExecution {
    /// One layer over the whole batch. A sample-parallel plan (`FastPlan.workers > 1`) computes the
    /// attention of the whole batch at once (each FC1 row read once for every sample), then runs the
    /// samples side by side, one thread per sample, each thread aggregating the kernels of two of its
    /// samples in one pass over the experts right before their convolutions, so the kernels are still in
    /// the core's cache when the convolutions read them; the samples left over when the batch does not
    /// divide among the threads run one by one on all of them. `means`: the input's channel means may come from the
    /// previous layer, and the output's may be left for the next one.
    /// `timing(phase, ns)`: 0 attention, 1 aggregation, 2 convolution (including that pooling).
    /// `supplied`: an externally routed layer's routing weights `[N, K]`, used instead of an attention.
    /// `gate`: a squeeze-excitation gate folded into the kernel as it is aggregated (batch-1 plans with the
    /// vector-loop aggregation only, see `FastStep.gatedDynamicConvolution`).
    func dynamicConvolution(_ layer: DynamicConvLayer, aggregation: MatmulPrimitive?, input: UnsafeMutablePointer<Float>,
                            output: UnsafeMutablePointer<Float>, means: PooledMeans, supplied: Tensor?,
                            gate: ExpertBank.Gate? = nil, avx2: Bool,
                            timing: ((Int, UInt64) -> Void)?, lap: () -> UInt64) throws(FastEngineError) -> LayerTrace? {
        let batch = plan.batch
        let k = layer.experts
        let (inSample, outSample) = (layer.inputCount, layer.outputCount)
        let pi = workspace.routing.floats
        let workers = plan.workers
        let threads = engine.options.threads
        precondition(gate == nil || (batch == 1 && workers == 1 && aggregation == nil), "\(layer.node): gate folded outside batch 1")

        func convolve(_ n: Int, kernel: UnsafeMutablePointer<Float>, worker w: Int) throws(FastEngineError) {
            try convolveSample(layer, source: input + n * inSample, destination: output + n * outSample, kernel: kernel,
                           bias: workspace.biases.floats + n * plan.biasStride, worker: w)
            if means.forNext {
                layer.outputMeans(output + n * outSample, into: workspace.batchMeans.floats + n * plan.pooledStride, avx2: avx2)
            }
        }

        if let supplied {
            supplied.data.withUnsafeBufferPointer { pi.update(from: $0.baseAddress!, count: batch * k) }
        } else if workers > 1 {
            batchRouting(layer, input: input, meansReady: means.fromPrevious, avx2: avx2)
        } else {
            let z = workspace.logits.floats, hidden = workspace.hidden.floats
            for n in 0..<batch {
                layer.logits(sample: input + n * inSample, pixels: layer.inputPixels, pooled: workspace.pooled.floats,
                             hiddenScratch: hidden, into: z, avx2: avx2, threads: threads)
                routingWeights(layer, logits: z, into: pi + n * k)
            }
        }
        timing?(0, lap())
        for n in 0..<batch { layer.aggregateBias(pi: pi + n * k, into: workspace.biases.floats + n * plan.biasStride, avx2: avx2) }
        let kernels = workspace.kernels.floats
        if let aggregation {
            // All kernels of the batch in one matmul.
            try aggregation.execute(stream: engine.context.stream, source: UnsafeMutableRawPointer(pi), weights: layer.bank.raw,
                                destination: UnsafeMutableRawPointer(kernels), scratchpad: workspace.scratchpad.raw)
            timing?(1, lap())
        }
        var next = 0
        if workers > 1 {
            let sideBySide = batch - batch % workers
            // When profiling, each worker's aggregation and convolution nanoseconds (raw memory: the workers
            // write it at once), to split the region's wall time between the two phases.
            let spent = UnsafeMutablePointer<UInt64>.allocate(capacity: 2 * workers)
            spent.initialize(repeating: 0, count: 2 * workers)
            defer { spent.deallocate() }
            let failure = RegionFailure()
            _ = OpenMPThreads.forEachThread(workers) { me, team in failure.record { () throws(FastEngineError) in
                // A team smaller than asked for still covers every sample of the side-by-side part.
                // Two of its samples at a time: both kernels in one pass over the experts (into the
                // worker's two slots), then the two convolutions.
                var n = me
                while n < sideBySide, !failure.failed {
                    let start = timing == nil ? 0 : monotonicNanoseconds()
                    let pair = n + team < sideBySide
                    var first = kernels + n * layer.bank.count
                    var second = kernels + (pair ? n + team : n) * layer.bank.count
                    if aggregation == nil {
                        first = kernels + 2 * me * plan.workerKernelStride
                        second = first + plan.workerKernelStride
                        if pair {
                            layer.bank.aggregatePair(pi: pi + n * k, pi + (n + team) * k, into: first, second, avx2: avx2)
                        } else {
                            layer.bank.aggregate(pi: pi + n * k, into: first, avx2: avx2, threads: 1)
                        }
                    }
                    let aggregated = timing == nil ? 0 : monotonicNanoseconds()
                    try convolve(n, kernel: first, worker: me)
                    if pair { try convolve(n + team, kernel: second, worker: me) }
                    if timing != nil {
                        spent[2 * me] += aggregated - start
                        spent[2 * me + 1] += monotonicNanoseconds() - aggregated
                    }
                    n += pair ? 2 * team : team
                }
            } }
            try failure.rethrow()
            next = sideBySide
            if let timing {
                let wall = lap()
                let (aggregating, total) = (0..<workers).reduce((UInt64(0), UInt64(0))) { sums, w in
                    (sums.0 + spent[2 * w], sums.1 + spent[2 * w] + spent[2 * w + 1])
                }
                let share = total == 0 ? 0 : UInt64(Double(wall) * Double(aggregating) / Double(total))
                timing(1, share)
                timing(2, wall - share)
            }
        }
        for n in next..<batch {
            var kernel = kernels + n * layer.bank.count
            if aggregation == nil {
                // One sample's kernel right before its convolution, so the kernel is still in cache when
                // the convolution reads it.
                kernel = kernels
                layer.bank.aggregate(pi: pi + n * k, into: kernel, gate: gate, avx2: avx2, threads: threads)
                timing?(1, lap())
            }
            try convolve(n, kernel: kernel, worker: -1)
            timing?(2, lap())
        }
        return attentionTrace(layer, pi: pi)
    }

    /// Routing weights of every sample of a sample-parallel batch into `workspace.routing`, on all workers:
    /// each sample's input means into `batchMeans` (unless the previous layer left them there), then FC1
    /// with each worker taking a slice of its rows for the whole batch, then FC2 and the routing function
    /// per sample.
    private func batchRouting(_ layer: DynamicConvLayer, input: UnsafeMutablePointer<Float>, meansReady: Bool, avx2: Bool) {
        let batch = plan.batch
        let means = workspace.batchMeans.floats, hidden = workspace.batchHidden.floats
        _ = OpenMPThreads.forEachThread(plan.workers) { me, team in
            guard let barrier = OpenMPThreads.barrier else { return }
            if !meansReady {
                for n in stride(from: me, to: batch, by: team) {
                    layer.inputMeans(input + n * layer.inputCount, into: means + n * plan.pooledStride, avx2: avx2)
                }
                barrier()
            }
            layer.hiddenRows(layer.hidden * me / team..<layer.hidden * (me + 1) / team, samples: batch, pooled: means,
                             pooledStride: plan.pooledStride, into: hidden, hiddenStride: plan.hiddenStride, avx2: avx2)
            barrier()
            let z = workspace.logits.floats + me * plan.logitsStride
            for n in stride(from: me, to: batch, by: team) {
                layer.logits(hidden: hidden + n * plan.hiddenStride, into: z, avx2: avx2)
                routingWeights(layer, logits: z, into: workspace.routing.floats + n * layer.experts)
            }
        }
    }

    /// A chain of layers, each reading the previous one's output, sample by sample: each thread takes a
    /// sample through every layer of the chain (attention, its own kernel, convolution, the next layer's
    /// pooling) before the next sample, so the sample's activations stay in its core's cache from one
    /// layer to the next. Worth it where activations are large and experts small (the early layers):
    /// each sample reads the experts itself, which costs little there. `timings[j]`: layer j's
    /// (attention, aggregation, convolution) nanoseconds, summed over threads and divided by their number.
    func dynamicChain(_ links: [ChainLink], means: PooledMeans, buffers: [UnsafeMutablePointer<Float>], avx2: Bool,
                      profile: Bool) throws(FastEngineError) -> (traces: [LayerTrace?], timings: [(UInt64, UInt64, UInt64)]) {
        let batch = plan.batch
        let workers = plan.workers
        let routingStride = batch * plan.routingLayerStride
        // Raw memory, not arrays: the threads write it at once (each its own elements), which Swift's
        // exclusivity checks would refuse for a captured variable.
        let spent = UnsafeMutablePointer<UInt64>.allocate(capacity: workers * links.count * 3 + 1)
        spent.initialize(repeating: 0, count: workers * links.count * 3 + 1)
        defer { spent.deallocate() }
        let team = spent + workers * links.count * 3
        let failure = RegionFailure()
        _ = OpenMPThreads.forEachThread(workers) { me, size in failure.record { () throws(FastEngineError) in
            if me == 0 { team.pointee = UInt64(size) }
            let pooled = workspace.pooled.floats + me * plan.pooledStride
            let hidden = workspace.hidden.floats + me * plan.hiddenStride
            let z = workspace.logits.floats + me * plan.logitsStride
            let kernel = workspace.kernels.floats + 2 * me * plan.workerKernelStride
            for n in stride(from: me, to: batch, by: size) where !failure.failed {
                let bias = workspace.biases.floats + n * plan.biasStride
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
                    let pi = workspace.routing.floats + j * routingStride + n * layer.experts
                    if j > 0 {
                        layer.logits(pooled: pooled, hiddenScratch: hidden, into: z, avx2: avx2)
                    } else if means.fromPrevious {
                        layer.logits(pooled: workspace.batchMeans.floats + n * plan.pooledStride, hiddenScratch: hidden, into: z, avx2: avx2)
                    } else {
                        layer.logits(sample: source, pixels: layer.inputPixels, pooled: pooled, hiddenScratch: hidden,
                                     into: z, avx2: avx2, threads: 1)
                    }
                    routingWeights(layer, logits: z, into: pi)
                    phase(0)
                    layer.aggregateBias(pi: pi, into: bias, avx2: avx2)
                    layer.bank.aggregate(pi: pi, into: kernel, avx2: avx2, threads: 1)
                    phase(1)
                    try convolveSample(layer, source: source, destination: destination, kernel: kernel, bias: bias, worker: me)
                    if j + 1 < links.count {
                        layer.outputMeans(destination, into: pooled, avx2: avx2)
                    } else if means.forNext {
                        layer.outputMeans(destination, into: workspace.batchMeans.floats + n * plan.pooledStride, avx2: avx2)
                    }
                    phase(2)
                }
            }
        } }
        try failure.rethrow()
        let traces = links.enumerated().map { j, link in
            attentionTrace(link.layer, pi: workspace.routing.floats + j * routingStride)
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
        guard let op = layer.attentionOp else { preconditionFailure("\(layer.node): routing weights of an externally routed layer") }
        let logits = Array(UnsafeBufferPointer(start: z, count: layer.experts))
        let weights: [Float] = switch op.routing {
        case .softmax: Probability.softmax(logits, temperature: op.effectiveTemperature(options))
        case .sigmoid: logits.map(Probability.sigmoid)
        }
        for e in 0..<layer.experts { pi[e] = weights[e] }
    }

    /// One sample's convolution with its kernel and aggregated bias, on worker `w`'s binding, stream and
    /// scratchpad (w < 0: the calling thread's, the primitive free to use every thread).
    private func convolveSample(_ layer: DynamicConvLayer, source: UnsafeMutablePointer<Float>, destination: UnsafeMutablePointer<Float>,
                                kernel: UnsafeMutablePointer<Float>, bias: UnsafeMutablePointer<Float>, worker w: Int) throws(FastEngineError) {
        try layer.primitive.execute(stream: engine.context.streams[max(w, 0)], source: UnsafeMutableRawPointer(source),
                                weights: UnsafeMutableRawPointer(kernel),
                                bias: layer.hasBias ? UnsafeMutableRawPointer(bias) : nil,
                                destination: UnsafeMutableRawPointer(destination),
                                scratchpad: w < 0 ? workspace.scratchpad.raw : workspace.workerScratchpads[w].raw,
                                binding: w < 0 ? nil : layer.bindings[w])
    }

    /// The attention trace of one layer from the batch's routing weights `pi[n][k]`, when traces are on.
    private func attentionTrace(_ layer: DynamicConvLayer, pi: UnsafeMutablePointer<Float>) -> LayerTrace? {
        guard options.trace >= .attention else { return nil }
        let op: DynamicConv2d
        switch layer.routing {
        case .attention(let own): op = own
        // The routing weights are in the routing node's trace.
        case .external(_, let routedBy): return LayerTrace(op: "dynamic_conv2d", routedBy: routedBy)
        }
        let tau = op.effectiveTemperature(options)
        let pis = (0..<plan.batch).map { n in Array(UnsafeBufferPointer(start: pi + n * layer.experts, count: layer.experts)) }
        return LayerTrace(op: op.opName, attention: AttentionTrace(op.routing, temperature: tau, pi: pis))
    }
}
