import CDNNL

/// One forward pass over a `FastPlan`, run with the engine's lock held.
struct FastExecution {
    let engine: FastEngine
    let plan: FastPlan
    let inputs: [Tensor]
    let options: RunOptions
    let profile: Bool

    func run() -> (result: RunResult, timings: [LayerTiming]?) {
        let model = engine.model
        let inputCount = model.spec.inputs.count
        let avx2 = engine.context.hasAVX2
        var tensors = [Tensor?](repeating: nil, count: inputCount + model.nodes.count)
        for (index, tensor) in inputs.enumerated() { tensors[index] = tensor }
        var traces: [LayerTrace] = []
        var timings: [LayerTiming] = profile
            ? model.nodes.enumerated().map { LayerTiming(name: $1.name, op: engine.kinds[$0].profileName($1.op)) }
            : []
        let buffers = plan.buffers.map(\.floats)
        let batch = plan.batch
        var clock = profile ? monotonicNanoseconds() : 0
        /// Time since the last lap, when profiling.
        func lap() -> UInt64 {
            guard profile else { return 0 }
            let now = monotonicNanoseconds()
            defer { clock = now }
            return now - clock
        }

        /// Inputs of a reference op as NCHW tensors (converting NHWC buffers back).
        func tensor(_ ref: ValueRef) -> Tensor? {
            let s: Int
            switch ref {
            case .input(let index): s = index
            case .node(let index): s = inputCount + index
            }
            if case .nhwc(let buffer, let shape) = plan.homes[s] {
                var data = [Float](repeating: 0, count: shape.reduce(1, *))
                data.withUnsafeMutableBufferPointer { out in
                    NHWCKernels.toNCHW(buffers[buffer], out.baseAddress!, batch: shape[0], channels: shape[1], pixels: shape[2] * shape[3])
                }
                return Tensor(shape: shape, data: data)
            }
            return tensors[s]
        }

        var lastNode = -1
        for step in plan.steps {
            switch step {
            case .toNHWC(let s, let buffer, let channels, let pixels):
                tensors[s]?.data.withUnsafeBufferPointer { source in
                    NHWCKernels.toNHWC(source.baseAddress!, buffers[buffer], batch: batch, channels: channels, pixels: pixels)
                }
                _ = lap()

            case .normalize(let node, let op, let tensorInput, let bufferInput, let out, let channels, let pixels):
                if let bufferInput {
                    NHWCKernels.normalizeNHWC(buffers[bufferInput], buffers[out], rows: batch * pixels, channels: channels,
                                              mean: op.mean, std: op.std)
                } else if let tensorInput {
                    tensors[tensorInput]?.data.withUnsafeBufferPointer { source in
                        NHWCKernels.normalizeToNHWC(source.baseAddress!, buffers[out], batch: batch, channels: channels,
                                                    pixels: pixels, mean: op.mean, std: op.std)
                    }
                }
                if profile { timings[node].activationNs += lap() }
                lastNode = node

            case .convolution(let node, let layer, let primitive, let weights, let input, let out):
                primitive.execute(stream: engine.context.stream, source: UnsafeMutableRawPointer(buffers[input]),
                                  weights: weights.raw, bias: layer.bias?.raw,
                                  destination: UnsafeMutableRawPointer(buffers[out]), scratchpad: plan.scratchpad.raw)
                if profile { timings[node].convolutionNs += lap() }
                lastNode = node

            case .dynamicConvolution(let node, let layer, let aggregation, let input, let out, let means):
                let trace = dynamicConvolution(layer, aggregation: aggregation, input: buffers[input], output: buffers[out],
                                               means: means, avx2: avx2,
                                               timing: profile ? { phase, ns in
                                                   switch phase {
                                                   case 0: timings[node].attentionNs += ns
                                                   case 1: timings[node].aggregationNs += ns
                                                   default: timings[node].convolutionNs += ns
                                                   }
                                               } : nil, lap: lap)
                if var trace {
                    trace.name = model.nodes[node].name
                    traces.append(trace)
                }
                lastNode = node

            case .activation(let node, let kind, let input, let out, let count):
                NHWCKernels.activation(kind, buffers[input], buffers[out], count: count)
                if profile { timings[node].activationNs += lap() }
                lastNode = node

            case .add(let node, let a, let b, let out, let count):
                NHWCKernels.add(buffers[a], buffers[b], buffers[out], count: count)
                if profile { timings[node].activationNs += lap() }
                lastNode = node

            case .dyReLU(let node, let op, let input, let out, let channels, let height, let width):
                let trace = dyReLU(op, input: buffers[input], output: buffers[out], channels: channels,
                                   height: height, width: width, avx2: avx2)
                if var trace {
                    trace.name = model.nodes[node].name
                    traces.append(trace)
                }
                if profile { timings[node].activationNs += lap() }
                lastNode = node

            case .globalAvgPool(let node, let input, let channels, let pixels):
                var data = [Float](repeating: 0, count: batch * channels)
                data.withUnsafeMutableBufferPointer { out in
                    for n in 0..<batch {
                        NHWCKernels.channelMeans(buffers[input] + n * pixels * channels, pixels: pixels, channels: channels,
                                                 into: out.baseAddress! + n * channels, avx2: avx2)
                    }
                }
                tensors[inputCount + node] = Tensor(shape: [batch, channels, 1, 1], data: data)
                if profile { timings[node].activationNs += lap() }
                lastNode = node

            case .linear(let node, let layer, let primitive, let input):
                if let x = tensors[input] {
                    tensors[inputCount + node] = linear(layer, primitive, x)
                }
                if profile { timings[node].convolutionNs += lap() }
                lastNode = node

            case .reference(let node):
                let loaded = model.nodes[node]
                let arguments = loaded.inputs.compactMap(tensor)
                let (output, trace) = loaded.op.forward(arguments, options: options)
                tensors[inputCount + node] = output
                if var trace {
                    trace.name = loaded.name
                    traces.append(trace)
                }
                if profile { timings[node].convolutionNs += lap() }
                lastNode = node
            }
            // Tensors whose last reader has run are dropped, as in `Model.run`.
            if lastNode >= 0, case .toNHWC = step {} else if lastNode >= 0 {
                for s in model.releaseAfter[lastNode] { tensors[s] = nil }
            }
        }

        let outputs = model.outputRefs.compactMap(tensor)
        return (RunResult(outputs: outputs, trace: traces), profile ? timings : nil)
    }

    /// `y = x W^T + b` for the whole batch in one matmul.
    private func linear(_ layer: LinearLayer, _ primitive: LinearPrimitive, _ x: Tensor) -> Tensor {
        let batch = x.shape[0]
        var y = [Float](repeating: 0, count: batch * layer.outFeatures)
        x.data.withUnsafeBufferPointer { xs in
            y.withUnsafeMutableBufferPointer { out in
                // oneDNN only reads its source; the mutable pointer is what its C API takes.
                primitive.execute(stream: engine.context.stream, source: UnsafeMutableRawPointer(mutating: xs.baseAddress!),
                                  weights: layer.weights.raw, bias: layer.bias?.raw,
                                  destination: UnsafeMutableRawPointer(out.baseAddress!), scratchpad: plan.scratchpad.raw)
            }
        }
        return Tensor(shape: [batch, layer.outFeatures], data: y)
    }

    /// Attention, aggregation and one convolution per sample with its own kernel. A sample-parallel plan
    /// (`FastPlan.workers > 1`) computes the samples' attention side by side, aggregates every kernel in
    /// one pass over the experts, then runs the samples' convolutions side by side, one per thread; the
    /// samples left over when the batch does not divide among the threads run one by one on all of them.
    /// `means` (sample-parallel plans only): the input's channel means may come from the previous layer,
    /// and the output's may be left for the next one, computed after each sample's convolution.
    /// `timing(phase, ns)`: 0 attention, 1 aggregation, 2 convolution (which then includes that pooling).
    private func dynamicConvolution(_ layer: DynamicConvLayer, aggregation: AggregationPrimitive?, input: UnsafeMutablePointer<Float>,
                                    output: UnsafeMutablePointer<Float>, means: PooledMeans, avx2: Bool,
                                    timing: ((Int, UInt64) -> Void)?, lap: () -> UInt64) -> LayerTrace? {
        let op = layer.op
        let batch = plan.batch
        let k = layer.experts
        let (inShape, outShape) = (layer.inputShape, layer.outputShape)
        let pixels = inShape[2] * inShape[3]
        let inSample = inShape[1] * pixels
        let outSample = outShape[1] * outShape[2] * outShape[3]
        let tau = op.effectiveTemperature(options)
        let pi = plan.routing.floats
        let workers = plan.workers
        let threads = engine.options.threads

        /// Routing weights of sample `n` into `pi[n]`, with worker `w`'s scratch (single-threaded when w > 0).
        func route(_ n: Int, worker w: Int, threads: Int) {
            let z = plan.logits.floats + w * plan.logitsStride
            let hidden = plan.hidden.floats + w * plan.hiddenStride
            if means.fromPrevious {
                layer.logits(pooled: plan.batchMeans.floats + n * plan.pooledStride, hiddenScratch: hidden,
                             into: z, avx2: avx2)
            } else {
                layer.logits(sample: input + n * inSample, pixels: pixels, pooled: plan.pooled.floats + w * plan.pooledStride,
                             hiddenScratch: hidden, into: z, avx2: avx2, threads: threads)
            }
            let logits = Array(UnsafeBufferPointer(start: z, count: k))
            let weights: [Float] = switch op.routing {
            case .softmax: Probability.softmax(logits, temperature: tau)
            case .sigmoid: logits.map(Probability.sigmoid)
            }
            for e in 0..<k { pi[n * k + e] = weights[e] }
        }
        /// Sample `n`'s convolution with `kernel`, on worker `w`'s binding, stream and scratchpad (w < 0: the
        /// calling thread's, with the primitive free to use every thread).
        func convolve(_ n: Int, kernel: UnsafeMutablePointer<Float>, worker w: Int) {
            let bias = layer.expertBias == nil ? nil : UnsafeMutableRawPointer(plan.biases.floats + n * layer.outChannels)
            layer.primitive.execute(stream: engine.context.streams[max(w, 0)],
                                    source: UnsafeMutableRawPointer(input + n * inSample),
                                    weights: UnsafeMutableRawPointer(kernel), bias: bias,
                                    destination: UnsafeMutableRawPointer(output + n * outSample),
                                    scratchpad: w < 0 ? plan.scratchpad.raw : plan.workerScratchpads[w].raw,
                                    binding: w < 0 ? nil : layer.bindings[w])
            if means.forNext {
                NHWCKernels.channelMeans(output + n * outSample, pixels: outShape[2] * outShape[3], channels: outShape[1],
                                         into: plan.batchMeans.floats + n * plan.pooledStride, avx2: avx2)
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
        layer.aggregateBias(pi: pi, samples: batch, into: plan.biases.floats)
        let kernels = plan.kernels.floats
        if let aggregation {
            // All kernels of the batch in one matmul.
            aggregation.execute(stream: engine.context.stream, pi: pi, bank: layer.bank.raw, into: kernels,
                                scratchpad: plan.scratchpad.raw)
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
        guard options.trace >= .attention else { return nil }
        let pis = (0..<batch).map { n in Array(UnsafeBufferPointer(start: pi + n * k, count: k)) }
        return LayerTrace(op: op.opName, attention: AttentionTrace(
            routing: op.routing.rawValue, temperature: op.routing == .softmax ? tau : 1,
            pi: pis, entropy: pis.map(Probability.entropy)))
    }

    /// DY-ReLU on NHWC: pooled means, coefficients from the reference hyper function (so the trace is the
    /// reference's for the same pooled values), then one pass applying `max_k (a x + b)` (times the spatial map).
    private func dyReLU(_ op: DyReLU, input: UnsafeMutablePointer<Float>, output: UnsafeMutablePointer<Float>,
                        channels: Int, height: Int, width: Int, avx2: Bool) -> LayerTrace? {
        let pixels = height * width
        let sample = channels * pixels
        let cc = op.coefficientChannels(channels: channels)
        let record = options.trace == .full
        var traceA: [[Float]] = [], traceB: [[Float]] = [], traceSpatial: [[Float]] = []
        var pooled = [Float](repeating: 0, count: channels)
        var a = [Float](repeating: 0, count: op.pieces * channels)
        var b = [Float](repeating: 0, count: op.pieces * channels)
        for n in 0..<plan.batch {
            let x = input + n * sample
            pooled.withUnsafeMutableBufferPointer { p in
                NHWCKernels.channelMeans(x, pixels: pixels, channels: channels, into: p.baseAddress!, avx2: avx2)
            }
            let (sa, sb) = op.coefficients(pooled: pooled, coefficientChannels: cc)
            // Broadcast variant A's shared coefficients to every channel.
            for k in 0..<op.pieces {
                for c in 0..<channels {
                    a[k * channels + c] = sa[k * cc + (cc == 1 ? 0 : c)]
                    b[k * channels + c] = sb[k * cc + (cc == 1 ? 0 : c)]
                }
            }
            var map: [Float]?
            if op.variant == .c, let spatial = op.spatial {
                var z = [Float](repeating: spatial.bias, count: pixels)
                spatial.weight.data.withUnsafeBufferPointer { w in
                    for p in 0..<pixels {
                        let row = x + p * channels
                        var sum = z[p]
                        for c in 0..<channels { sum += w[c] * row[c] }
                        z[p] = sum
                    }
                }
                let gamma = spatial.gamma ?? Float(pixels) / 3
                map = Probability.softmax(z, temperature: spatial.tau).map { min(gamma * $0, 1) }
            }
            a.withUnsafeBufferPointer { a in
                b.withUnsafeBufferPointer { b in
                    if let map {
                        map.withUnsafeBufferPointer { m in
                            NHWCKernels.dyReLU(x, output + n * sample, pixels: pixels, channels: channels, pieces: op.pieces,
                                               a: a.baseAddress!, b: b.baseAddress!, spatial: m.baseAddress!)
                        }
                    } else {
                        NHWCKernels.dyReLU(x, output + n * sample, pixels: pixels, channels: channels, pieces: op.pieces,
                                           a: a.baseAddress!, b: b.baseAddress!, spatial: nil)
                    }
                }
            }
            if record {
                traceA.append(sa)
                traceB.append(sb)
                if let map { traceSpatial.append(map) }
            }
        }
        guard record else { return nil }
        let isC = op.variant == .c
        return LayerTrace(op: op.opName, activation: ActivationTrace(
            variant: op.variant.rawValue, pieces: op.pieces, channels: cc, a: traceA, b: traceB,
            spatial: isC ? traceSpatial : nil, height: isC ? height : nil, width: isC ? width : nil))
    }
}
