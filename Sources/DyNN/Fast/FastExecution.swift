import CDNNL

/// One forward pass over a `FastPlan`, run with the engine's lock held.
struct FastExecution {
    let engine: FastEngine
    let plan: FastPlan
    /// The engine's memory, at least as large as `plan` needs.
    let workspace: FastWorkspace
    let inputs: [Tensor]
    let options: RunOptions
    let profile: Bool

    /// The pass; any step that fails (a oneDNN status, a missing value) throws with its cause.
    func run() throws(FastEngineError) -> (result: RunResult, timings: [LayerTiming]?) {
        let model = engine.model
        let inputCount = model.spec.inputs.count
        let avx2 = engine.context.hasAVX2
        var tensors = [Tensor?](repeating: nil, count: inputCount + model.nodes.count)
        for (index, tensor) in inputs.enumerated() { tensors[index] = tensor }
        var traces: [LayerTrace] = []
        var timings: [LayerTiming] = profile
            ? model.nodes.enumerated().map { LayerTiming(name: $1.name, op: engine.kinds[$0].profileName($1.op)) }
            : []
        let buffers = workspace.buffers.map(\.floats)
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

        /// An externally routed layer's routing weights: the routing node ran earlier and its value lives
        /// until its last routed convolution.
        func suppliedRouting(_ layer: DynamicConvLayer) -> Tensor? {
            guard case .external(let slot, _) = layer.routing else { return nil }
            guard let routing = tensors[slot] else { preconditionFailure("\(layer.node): routing weights missing") }
            return routing
        }
        /// Adds a dynamic convolution's phase times (0 attention, 1 aggregation, 2 convolution) to node's profile.
        func phaseTiming(_ node: Int) -> (Int, UInt64) -> Void {
            { phase, ns in
                switch phase {
                case 0: timings[node].attentionNs += ns
                case 1: timings[node].aggregationNs += ns
                default: timings[node].convolutionNs += ns
                }
            }
        }

        var lastNode = -1
        for step in plan.steps {
            if let failure = engine.injectedStepFailure?(step) { throw failure }
            switch step {
            case .toNHWC(let s, let buffer, let channels, let pixels):
                tensors[s]?.data.withUnsafeBufferPointer { source in
                    NHWCKernels.toNHWC(source.baseAddress!, buffers[buffer], batch: batch, channels: channels, pixels: pixels)
                }
                _ = lap()

            case .normalize(let node, let op, let tensorInput, let bufferInput, let out, let channels, let pixels):
                if let bufferInput {
                    onWorkers(batch * pixels, savedPerElement: 0.3) { rows in
                        NHWCKernels.normalizeNHWC(buffers[bufferInput], buffers[out], rows: rows, channels: channels,
                                                  mean: op.mean, std: op.std)
                    }
                } else if let tensorInput {
                    tensors[tensorInput]?.data.withUnsafeBufferPointer { source in
                        onWorkers(batch * pixels, savedPerElement: 0.3) { units in
                            NHWCKernels.normalizeToNHWC(source.baseAddress!, buffers[out], units: units, channels: channels,
                                                        pixels: pixels, mean: op.mean, std: op.std, avx2: avx2)
                        }
                    }
                }
                if profile { timings[node].activationNs += lap() }
                lastNode = node

            case .convolution(let node, let layer, let primitive, let weights, let input, let out):
                try primitive.execute(stream: engine.context.stream, source: UnsafeMutableRawPointer(buffers[input]),
                                  weights: weights.raw, bias: layer.bias?.raw,
                                  destination: UnsafeMutableRawPointer(buffers[out]), scratchpad: workspace.scratchpad.raw)
                if profile { timings[node].convolutionNs += lap() }
                lastNode = node

            case .pointwiseConvolution(let node, let layer, let matrix, let input, let out):
                let (inputs, outputs) = (layer.inputShape[1], layer.outputShape[1])
                dy_fc_rows_samples(matrix.raw, 0, layer.bias?.floats, buffers[input], Int32(inputs), Int32(batch), 0, Int32(outputs),
                                   Int32(inputs), 0, avx2 ? 1 : 0, buffers[out], Int32(outputs))
                if let postOp = layer.postOp {
                    NHWCKernels.activation(postOp, buffers[out], buffers[out], count: batch * outputs)
                }
                if profile { timings[node].convolutionNs += lap() }
                lastNode = node

            case .gatedConvolution(let node, let mulNode, let layer, let primitive, let weights, let gateChunks,
                                   let x, let gate, let out):
                let kernel = workspace.kernels.floats
                dy_scale_by_channel(weights.floats, gateChunks.raw.assumingMemoryBound(to: Int32.self), buffers[gate],
                                    primitive.weightsBytes / MemoryLayout<Float>.stride, avx2 ? 1 : 0, kernel)
                if profile { timings[mulNode].activationNs += lap() }
                try primitive.execute(stream: engine.context.stream, source: UnsafeMutableRawPointer(buffers[x]),
                                      weights: UnsafeMutableRawPointer(kernel), bias: layer.bias?.raw,
                                      destination: UnsafeMutableRawPointer(buffers[out]), scratchpad: workspace.scratchpad.raw)
                if profile { timings[node].convolutionNs += lap() }
                lastNode = node

            case .dynamicConvolution(let node, let layer, let aggregation, let input, let out, let means):
                let trace = try dynamicConvolution(layer, aggregation: aggregation, input: buffers[input], output: buffers[out],
                                                   means: means, supplied: suppliedRouting(layer), avx2: avx2,
                                                   timing: profile ? phaseTiming(node) : nil, lap: lap)
                if var trace {
                    trace.name = model.nodes[node].name
                    traces.append(trace)
                }
                lastNode = node

            case .gatedDynamicConvolution(let node, _, let layer, let gateChunks, let x, let gate, let out):
                let folded = ExpertBank.Gate(values: buffers[gate], chunks: gateChunks.raw.assumingMemoryBound(to: Int32.self))
                let trace = try dynamicConvolution(layer, aggregation: nil, input: buffers[x], output: buffers[out],
                                                   means: PooledMeans(), supplied: suppliedRouting(layer), gate: folded, avx2: avx2,
                                                   timing: profile ? phaseTiming(node) : nil, lap: lap)
                if var trace {
                    trace.name = model.nodes[node].name
                    traces.append(trace)
                }
                lastNode = node

            case .dynamicChain(let links, let means):
                let (chainTraces, chainTimings) = try dynamicChain(links, means: means, buffers: buffers, avx2: avx2, profile: profile)
                for (link, trace) in zip(links, chainTraces) {
                    if var trace {
                        trace.name = model.nodes[link.node].name
                        traces.append(trace)
                    }
                }
                if profile {
                    for (link, spent) in zip(links, chainTimings) {
                        timings[link.node].attentionNs += spent.0
                        timings[link.node].aggregationNs += spent.1
                        timings[link.node].convolutionNs += spent.2
                    }
                    _ = lap()
                }
                for link in links.dropLast() {
                    for s in model.releaseAfter[link.node] { tensors[s] = nil }
                }
                lastNode = links[links.count - 1].node

            case .activation(let node, let kind, let input, let out, let count):
                // SiLU and the sigmoids after a batch norm (not fused) are large passes: split across the workers.
                onWorkers(count, savedPerElement: 0.12) { slice in
                    NHWCKernels.activation(kind, buffers[input] + slice.lowerBound, buffers[out] + slice.lowerBound,
                                           count: slice.count)
                }
                if profile { timings[node].activationNs += lap() }
                lastNode = node

            case .add(let node, let a, let b, let out, let count):
                onWorkers(count, savedPerElement: 0.12) { slice in
                    NHWCKernels.add(buffers[a] + slice.lowerBound, buffers[b] + slice.lowerBound, buffers[out] + slice.lowerBound,
                                    count: slice.count)
                }
                if profile { timings[node].activationNs += lap() }
                lastNode = node

            case .mul(let node, let x, let gate, let out, let count, let broadcast):
                if let broadcast {
                    let (channels, pixels) = broadcast
                    onWorkers(count, savedPerElement: 0.12) { slice in
                        NHWCKernels.scaleChannels(buffers[x], gates: buffers[gate], buffers[out], elements: slice,
                                                  channels: channels, pixels: pixels)
                    }
                } else {
                    onWorkers(count, savedPerElement: 0.12) { slice in
                        NHWCKernels.multiply(buffers[x] + slice.lowerBound, buffers[gate] + slice.lowerBound,
                                             buffers[out] + slice.lowerBound, count: slice.count)
                    }
                }
                if profile { timings[node].activationNs += lap() }
                lastNode = node

            case .expertRouting(let node, let op, let input, let channels, let pixels, let pooling):
                let tau = op.effectiveTemperature(options)
                var pooled = [Float](repeating: 0, count: channels)
                let pi = (0..<batch).map { n in
                    pooled.withUnsafeMutableBufferPointer { means in
                        pooling.run(buffers[input] + n * pixels * channels, pixels: pixels, into: means.baseAddress!, avx2: avx2,
                                    threads: engine.options.threads)
                    }
                    return op.weights(pooled: pooled, temperature: tau)
                }
                tensors[inputCount + node] = Tensor(shape: [batch, op.expertCount], data: pi.flatMap { $0 })
                if options.trace >= .attention {
                    var trace = op.trace(pi, temperature: tau)
                    trace.name = model.nodes[node].name
                    traces.append(trace)
                }
                if profile { timings[node].attentionNs += lap() }
                lastNode = node

            case .dyReLU(let node, let layer, let input, let out):
                let begin = profile ? monotonicNanoseconds() : 0
                let trace = dyReLU(layer, input: buffers[input], output: buffers[out], avx2: avx2)
                if var trace {
                    trace.name = model.nodes[node].name
                    traces.append(trace)
                }
                if profile {
                    // Pooling and the hyper network count as attention, the piecewise-linear pass as activation.
                    let total = lap()
                    let coefficients = min(total, layer.coefficientsReadyNs &- begin)
                    timings[node].attentionNs += coefficients
                    timings[node].activationNs += total - coefficients
                }
                lastNode = node

            case .globalAvgPool(let node, let input, let channels, let pixels, let pooling):
                var data = [Float](repeating: 0, count: batch * channels)
                data.withUnsafeMutableBufferPointer { out in
                    for n in 0..<batch {
                        pooling.run(buffers[input] + n * pixels * channels, pixels: pixels, into: out.baseAddress! + n * channels,
                                    avx2: avx2, threads: engine.options.threads)
                    }
                }
                tensors[inputCount + node] = Tensor(shape: [batch, channels, 1, 1], data: data)
                if profile { timings[node].activationNs += lap() }
                lastNode = node

            case .linear(let node, let layer, let primitive, let input):
                guard let x = tensors[input] else { throw .missingValue(node: model.nodes[node].name) }
                tensors[inputCount + node] = try linear(layer, primitive, x)
                if profile { timings[node].convolutionNs += lap() }
                lastNode = node

            case .reference(let node):
                let loaded = model.nodes[node]
                let arguments = loaded.inputs.compactMap(tensor)
                guard arguments.count == loaded.inputs.count else { throw .missingValue(node: loaded.name) }
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
        guard outputs.count == model.outputRefs.count else { throw .missingValue(node: "model output") }
        return (RunResult(outputs: outputs, trace: traces), profile ? timings : nil)
    }

    /// Runs `body` over `0..<count`, one contiguous slice per worker thread (bounds at multiples of 16, so
    /// slices of floats start on cache lines), or whole on the calling thread when the engine has one
    /// worker or the split would not pay for its parallel region (`OpenMPThreads.worthSplitting`, given what
    /// the pass saves per element). For the element-wise passes, which would
    /// otherwise leave every other thread idle.
    private func onWorkers(_ count: Int, savedPerElement: Double, _ body: (Range<Int>) -> Void) {
        let workers = engine.sampleWorkers
        guard workers > 1, OpenMPThreads.worthSplitting(count, savedPerElement: savedPerElement, floor: 32_768) else {
            return body(0..<count)
        }
        let ran = OpenMPThreads.forEachThread(workers) { me, team in
            let blocks = (count + 15) / 16
            let slice = min(count, blocks * me / team * 16)..<min(count, blocks * (me + 1) / team * 16)
            if !slice.isEmpty { body(slice) }
        }
        if !ran { body(0..<count) }
    }

    /// `y = x W^T + b` for the whole batch in one matmul.
    private func linear(_ layer: LinearLayer, _ primitive: MatmulPrimitive, _ x: Tensor) throws(FastEngineError) -> Tensor {
        let batch = x.shape[0]
        var y = [Float](repeating: 0, count: batch * layer.outFeatures)
        try x.data.withUnsafeBufferPointer { (xs) throws(FastEngineError) in
            try y.withUnsafeMutableBufferPointer { (out) throws(FastEngineError) in
                // oneDNN only reads its source; the mutable pointer is what its C API takes.
                try primitive.execute(stream: engine.context.stream, source: UnsafeMutableRawPointer(mutating: xs.baseAddress!),
                                  weights: layer.weights.raw, bias: layer.bias?.raw,
                                  destination: UnsafeMutableRawPointer(out.baseAddress!), scratchpad: workspace.scratchpad.raw)
            }
        }
        return Tensor(shape: [batch, layer.outFeatures], data: y)
    }
}
