/// Builds the `FastPlan` of one batch size: walks the graph once, chooses each node's step from the
/// kind decided at load time and where its inputs live, creates static primitives for this batch,
/// and assigns NHWC buffers by liveness (a buffer is reused once its last reader has run; element-wise
/// ops write in place over an input that dies with them).
struct FastPlanBuilder {
    let engine: FastEngine
    let batch: Int

    private var homes: [ValueHome] = []
    private var converted: [Int: Int] = [:]
    private var capacities: [Int] = []
    private var free: [Int] = []
    private var steps: [FastStep] = []
    private var scratchpadBytes = 0
    private var workerScratchpadBytes = 0
    private var kernelFloats = 0, workerKernelFloats = 0, biasFloats = 0, maxExperts = 1, maxChannels = 1, maxHidden = 1

    init(engine: FastEngine, batch: Int) {
        self.engine = engine
        self.batch = batch
    }

    private var inputCount: Int { engine.model.spec.inputs.count }

    private func slot(_ ref: ValueRef) -> Int {
        switch ref {
        case .input(let index): index
        case .node(let index): inputCount + index
        }
    }

    /// `[batch, C, H, W]` of a value.
    private func shape(of ref: ValueRef) -> [Int]? {
        switch ref {
        case .input(let index):
            guard let dims = engine.inputDims[index] else { return nil }
            return [batch] + dims
        case .node(let index):
            return [batch] + engine.model.nodes[index].outputShape.dropFirst()
        }
    }

    private mutating func acquire(_ floats: Int) -> Int {
        // Smallest free buffer that fits, else a new one.
        if let pick = free.enumerated().filter({ capacities[$0.element] >= floats })
            .min(by: { capacities[$0.element] < capacities[$1.element] }) {
            free.remove(at: pick.offset)
            return pick.element
        }
        capacities.append(floats)
        return capacities.count - 1
    }

    /// The NHWC buffer holding value `ref`, converting a 4-D tensor once if needed; nil if not 4-D.
    private mutating func nhwcBuffer(_ ref: ValueRef) -> Int? {
        let s = slot(ref)
        if case .nhwc(let buffer, _) = homes[s] { return buffer }
        if let buffer = converted[s] { return buffer }
        guard let shape = shape(of: ref), shape.count == 4 else { return nil }
        let buffer = acquire(shape.reduce(1, *))
        converted[s] = buffer
        steps.append(.toNHWC(slot: s, buffer: buffer, channels: shape[1], pixels: shape[2] * shape[3]))
        return buffer
    }

    private func liveBuffer(_ ref: ValueRef) -> Int? {
        if case .nhwc(let buffer, _) = homes[slot(ref)] { return buffer }
        return nil
    }

    /// An output buffer for node `index`, taking over the buffer of input `ref` when that input
    /// dies at this node (`inherited` records it so it is not freed).
    private mutating func output(_ floats: Int, node index: Int, inPlace ref: ValueRef?, inherited: inout Int?) -> Int {
        if let ref, engine.lastUse[slot(ref)] == index, case .nhwc(let buffer, _) = homes[slot(ref)],
           capacities[buffer] >= floats {
            inherited = slot(ref)
            return buffer
        }
        return acquire(floats)
    }

    mutating func build() throws(FastEngineError) -> FastPlan {
        let model = engine.model
        homes = [ValueHome](repeating: .tensor, count: inputCount + model.nodes.count)
        // Values read last by node i, released after it.
        var dying = [[Int]](repeating: [], count: model.nodes.count)
        for (s, use) in engine.lastUse.enumerated() where use >= 0 && use < model.nodes.count { dying[use].append(s) }

        // Buffers freed inside a run of layers that may become a sample-by-sample chain are held back until
        // the run ends: in a chain, one sample can reach a later layer while another still reads an earlier
        // layer's buffer, so no buffer may serve two of the run's values.
        var held: [Int] = []
        var inRun = false
        for (index, node) in model.nodes.enumerated() {
            let outSlot = inputCount + index
            let outShape = [batch] + node.outputShape.dropFirst()
            let outFloats = outShape.reduce(1, *)
            var inherited: Int?
            var produced: Int?
            switch engine.kinds[index] {
            case .fusedActivation, .foldedBatchNorm:
                break // part of its producer's step
            case .dynamicConvolution(let layer) where layer.prefersSampleBySample && engine.runsSampleParallel(batch: batch)
                && inRun && liveBuffer(node.inputs[0]).map({ input in
                    if case .dynamicConvolution(_, _, _, _, input, _)? = steps.last { return true }
                    return false
                }) == true:
                break // continues the run
            case .dynamicConvolution(let layer) where layer.prefersSampleBySample && engine.runsSampleParallel(batch: batch):
                free.append(contentsOf: held)
                held = []
                inRun = true
            default:
                free.append(contentsOf: held)
                held = []
                inRun = false
            }
            switch engine.kinds[index] {
            case .convolution(let layer):
                if let input = nhwcBuffer(node.inputs[0]), let matrix = layer.pointwiseMatrix {
                    let out = acquire(outFloats)
                    steps.append(.pointwiseConvolution(node: index, layer: layer, matrix: matrix, input: input, output: out))
                    produced = out
                } else if let input = nhwcBuffer(node.inputs[0]) {
                    let (primitive, weights) = try layer.prepare(batch: batch, context: engine.context)
                    scratchpadBytes = max(scratchpadBytes, primitive.scratchpadBytes)
                    let out = acquire(outFloats)
                    steps.append(.convolution(node: index, layer: layer, primitive: primitive, weights: weights, input: input, output: out))
                    produced = out
                }
            case .dynamicConvolution(let layer):
                if let input = nhwcBuffer(node.inputs[0]) {
                    scratchpadBytes = max(scratchpadBytes, layer.primitive.scratchpadBytes)
                    workerScratchpadBytes = max(workerScratchpadBytes, layer.primitive.scratchpadBytes)
                    // Per-sample kernels live side by side when the matmul aggregates the batch in one call;
                    // otherwise each sample's is made right before its convolution, in its worker's slot.
                    let together = engine.options.aggregation == .matmul
                    kernelFloats = max(kernelFloats, layer.bank.count * (together ? batch : 1))
                    workerKernelFloats = max(workerKernelFloats, layer.bank.count)
                    biasFloats = max(biasFloats, layer.outChannels)
                    maxExperts = max(maxExperts, layer.experts)
                    maxChannels = max(maxChannels, layer.inChannels)
                    maxHidden = max(maxHidden, layer.hidden)
                    var aggregation: MatmulPrimitive?
                    if layer.bank.precision == .fp32, engine.options.aggregation == .matmul {
                        aggregation = try MatmulPrimitive.aggregation(context: engine.context, samples: batch, experts: layer.experts,
                                                                      count: layer.bank.count, node: layer.node)
                        scratchpadBytes = max(scratchpadBytes, aggregation?.scratchpadBytes ?? 0)
                    }
                    let out = acquire(outFloats)
                    var means = PooledMeans()
                    if engine.runsSampleParallel(batch: batch), layer.attentionOp != nil,
                       case .dynamicConvolution(let node, let previous, let previousAggregation, let source, input, var handed)? = steps.last {
                        // The previous step wrote this layer's input: it pools it too.
                        handed.forNext = true
                        means.fromPrevious = true
                        steps[steps.count - 1] = .dynamicConvolution(node: node, layer: previous, aggregation: previousAggregation,
                                                                     input: source, output: input, means: handed)
                    }
                    steps.append(.dynamicConvolution(node: index, layer: layer, aggregation: aggregation, input: input,
                                                     output: out, means: means))
                    produced = out
                }
            case .fusedActivation, .foldedBatchNorm:
                // The producer applied it; the value is the producer's buffer, handed over.
                if let buffer = liveBuffer(node.inputs[0]) {
                    inherited = slot(node.inputs[0])
                    produced = buffer
                }
            case .activation(let kind):
                if let input = liveBuffer(node.inputs[0]) {
                    let out = output(outFloats, node: index, inPlace: node.inputs[0], inherited: &inherited)
                    steps.append(.activation(node: index, kind: kind, input: input, output: out, count: outFloats))
                    produced = out
                }
            case .add:
                if let a = liveBuffer(node.inputs[0]), let b = liveBuffer(node.inputs[1]) {
                    let out = output(outFloats, node: index, inPlace: node.inputs[0], inherited: &inherited)
                    steps.append(.add(node: index, a: a, b: b, output: out, count: outFloats))
                    produced = out
                }
            case .normalize(let op):
                if outShape.count == 4 {
                    let pixels = outShape[2] * outShape[3]
                    if let input = liveBuffer(node.inputs[0]) {
                        let out = output(outFloats, node: index, inPlace: node.inputs[0], inherited: &inherited)
                        steps.append(.normalize(node: index, op: op, tensorInput: nil, bufferInput: input, output: out,
                                                channels: outShape[1], pixels: pixels))
                        produced = out
                    } else {
                        let out = acquire(outFloats)
                        steps.append(.normalize(node: index, op: op, tensorInput: slot(node.inputs[0]), bufferInput: nil,
                                                output: out, channels: outShape[1], pixels: pixels))
                        produced = out
                    }
                }
            case .mul:
                // The gate of a squeeze-excitation is `[N, C, 1, 1]`: its NHWC buffer is `[N, C]`.
                if let a = nhwcBuffer(node.inputs[0]), let b = nhwcBuffer(node.inputs[1]),
                   let aShape = shape(of: node.inputs[0]), let bShape = shape(of: node.inputs[1]) {
                    let aIsGate = aShape != bShape && aShape.reduce(1, *) < bShape.reduce(1, *)
                    let (x, gate, xRef) = aIsGate ? (b, a, node.inputs[1]) : (a, b, node.inputs[0])
                    let out = output(outFloats, node: index, inPlace: xRef, inherited: &inherited)
                    let broadcast = aShape == bShape ? nil : (channels: outShape[1], pixels: outShape[2] * outShape[3])
                    steps.append(.mul(node: index, x: x, gate: gate, output: out, count: outFloats, broadcast: broadcast))
                    produced = out
                }
            case .expertRouting(let op):
                if let input = nhwcBuffer(node.inputs[0]), let inShape = shape(of: node.inputs[0]) {
                    steps.append(.expertRouting(node: index, op: op, input: input, channels: inShape[1],
                                                pixels: inShape[2] * inShape[3], pooling: pooling(inShape[1])))
                }
            case .dyReLU(let weights):
                if let input = nhwcBuffer(node.inputs[0]) {
                    let out = output(outFloats, node: index, inPlace: node.inputs[0], inherited: &inherited)
                    let layer = DyReLULayer(weights: weights, batch: batch, channels: outShape[1], height: outShape[2], width: outShape[3],
                                            workers: engine.sampleWorkers)
                    steps.append(.dyReLU(node: index, layer: layer, input: input, output: out))
                    produced = out
                }
            case .globalAvgPool:
                if let input = liveBuffer(node.inputs[0]), let inShape = shape(of: node.inputs[0]) {
                    steps.append(.globalAvgPool(node: index, input: input, channels: inShape[1], pixels: inShape[2] * inShape[3],
                                                pooling: pooling(inShape[1])))
                }
            case .linear(let layer):
                if case .tensor = homes[slot(node.inputs[0])] {
                    let primitive = try layer.prepare(batch: batch, context: engine.context)
                    scratchpadBytes = max(scratchpadBytes, primitive.scratchpadBytes)
                    steps.append(.linear(node: index, layer: layer, primitive: primitive, input: slot(node.inputs[0])))
                }
            case .reference:
                break
            }
            if let produced {
                homes[outSlot] = .nhwc(buffer: produced, shape: outShape)
            } else if !stepCovers(index) {
                steps.append(.reference(node: index))
            }
            for s in dying[index] where s != inherited {
                if case .nhwc(let buffer, _) = homes[s] { inRun ? held.append(buffer) : free.append(buffer) }
                if let buffer = converted[s] { inRun ? held.append(buffer) : free.append(buffer) }
            }
        }
        if batch == 1 { steps = try foldingGates(steps) }
        var longestChain = 1
        if engine.runsSampleParallel(batch: batch) {
            steps = Self.chained(steps)
            for case .dynamicChain(let links, _) in steps { longestChain = max(longestChain, links.count) }
        }
        return FastPlan(batch: batch, steps: steps, homes: homes, bufferFloats: capacities,
                        scratchpadBytes: scratchpadBytes, kernelFloats: kernelFloats, biasFloats: biasFloats,
                        maxExperts: maxExperts, maxChannels: maxChannels, maxHidden: maxHidden,
                        workers: engine.runsSampleParallel(batch: batch) ? engine.sampleWorkers : 1,
                        workerScratchpadBytes: workerScratchpadBytes, longestChain: longestChain,
                        workerKernelFloats: workerKernelFloats)
    }

    /// `steps` with every run of two or more linked dynamic convolutions that prefer to go sample by
    /// sample (each reading the previous one's output, which `PooledMeans.forNext` marks) as one chain.
    private static func chained(_ steps: [FastStep]) -> [FastStep] {
        var result: [FastStep] = []
        var run: [(link: ChainLink, means: PooledMeans, step: FastStep)] = []
        func flush() {
            if run.count >= 2 {
                let means = PooledMeans(fromPrevious: run[0].means.fromPrevious, forNext: run[run.count - 1].means.forNext)
                result.append(.dynamicChain(links: run.map(\.link), means: means))
            } else {
                result.append(contentsOf: run.map(\.step))
            }
            run = []
        }
        for step in steps {
            guard case .dynamicConvolution(let node, let layer, _, let input, let output, let means) = step,
                  layer.prefersSampleBySample else {
                flush()
                result.append(step)
                continue
            }
            if let last = run.last, !(last.means.forNext && last.link.output == input) { flush() }
            run.append((ChainLink(node: node, layer: layer, input: input, output: output), means, step))
        }
        flush()
        return result
    }

    /// `steps` with each squeeze-excitation multiply folded into the convolution right after it, where that
    /// saves memory traffic: the multiply reads and writes the whole activation. A static convolution
    /// (`FastStep.gatedConvolution`) takes the gate into a scaled copy of its weights, a pass over the
    /// weights instead, so it is taken when the weights are the smaller (the early, large-activation
    /// blocks). An externally routed dynamic convolution (`FastStep.gatedDynamicConvolution`, CondConv)
    /// makes its kernel on every pass anyway: its aggregation writes the weights scaled, one multiply per
    /// weight, so it is always taken (with the vector-loop aggregation; the matmul one keeps the multiply).
    /// Batch 1 only: one gate, one set of scaled weights for the batch's single convolution call.
    /// Conditions, so that the convolution reading `x` sees what the multiply would have given it: the
    /// multiply runs in place over `x` and the convolution reads its output, which nothing else reads; the
    /// convolution does not write over `x` (it may over the gate, read only while the weights are scaled,
    /// before the convolution runs); the convolution has one group and a weight layout with a gate chunk
    /// map (`GateChunks`).
    private mutating func foldingGates(_ steps: [FastStep]) throws(FastEngineError) -> [FastStep] {
        var result: [FastStep] = []
        var i = 0
        while i < steps.count {
            if i + 1 < steps.count, case .mul(let mulNode, let x, let gate, let mulOutput, let count, _?) = steps[i],
               mulOutput == x {
                let readBy = engine.lastUse[inputCount + mulNode]
                switch steps[i + 1] {
                case .convolution(let node, let layer, let primitive, let weights, let input, let output)
                    where readBy == node && input == x && output != x && layer.op.geometry.groups == 1
                    && primitive.weightsBytes / MemoryLayout<Float>.stride < count:
                    if let chunks = try GateChunks.map(primitive: primitive, context: engine.context, node: layer.node) {
                        kernelFloats = max(kernelFloats, primitive.weightsBytes / MemoryLayout<Float>.stride)
                        result.append(.gatedConvolution(node: node, mulNode: mulNode, layer: layer, primitive: primitive, weights: weights,
                                                        gateChunks: chunks, x: x, gate: gate, output: output))
                        i += 2
                        continue
                    }
                case .dynamicConvolution(let node, let layer, nil, let input, let output, _)
                    where readBy == node && input == x && output != x && layer.attentionOp == nil && layer.primitive.shape.geometry.groups == 1:
                    if let chunks = try GateChunks.map(primitive: layer.primitive, context: engine.context, node: layer.node) {
                        result.append(.gatedDynamicConvolution(node: node, mulNode: mulNode, layer: layer, gateChunks: chunks,
                                                               x: x, gate: gate, output: output))
                        i += 2
                        continue
                    }
                default:
                    break
                }
            }
            result.append(steps[i])
            i += 1
        }
        return result
    }

    /// A pixel-split pooling of `channels` channels, one partial row per thread of the engine.
    private func pooling(_ channels: Int) -> PixelSplitPooling {
        PixelSplitPooling(channels: channels, slots: engine.context.streams.count)
    }

    /// Whether the last step appended is node `index`'s own (global pooling writes a tensor, not a buffer).
    private func stepCovers(_ index: Int) -> Bool {
        switch steps.last {
        case .globalAvgPool(let node, _, _, _, _), .linear(let node, _, _, _), .expertRouting(let node, _, _, _, _, _): return node == index
        default: return false
        }
    }
}
