import CDNNL
import Foundation

/// The fast CPU backend: oneDNN convolutions on NHWC activations, dynamic convolutions aggregated in
/// the primitive's own weight layout, element-wise ops fused or run as single passes over planned
/// buffers. Computes what `Model.run` computes, within FP32 tolerance (the reference stays the oracle);
/// nodes it does not cover run their reference op.
///
/// Concurrency: `run` may be called from any number of threads; executions are serialised by a lock
/// inside the engine (one plan per batch size, one workspace of buffers shared by all plans). Parallelism comes from oneDNN's
/// intra-op threads at batch 1; a larger batch also runs its samples' dynamic convolutions side by side,
/// one per thread (`runsSampleParallel`): the attention's FC1 computed for the whole batch at once where
/// the experts are large, and each sample taken through several layers at once where its activations
/// are (see `FastExecution+DynamicConvolution.swift`). A scheduler in front of the engine decides batching.
///
/// Threads: `FastEngineOptions.threads > 0` sets `OMP_NUM_THREADS` for the process when the engine
/// is built and applies the count on the executing thread before every pass. An engine with more than
/// one thread prepares its layers and runs its passes on its `OpenMPLane` (`FastEngineOptions.lane`),
/// whose one OpenMP team it shares with the other engines of that lane; a one-thread engine runs on
/// the caller's thread and starts no team.
///
/// OpenMP waiting: with one team per lane, libgomp's default (`OMP_WAIT_POLICY` unset) lets the team
/// spin through the short serial gaps between a pass's parallel regions and park soon after the pass.
/// `OMP_WAIT_POLICY` / `GOMP_SPINCOUNT` in the process environment still override it (libgomp reads
/// them when it loads, before any Swift code runs).
public final class FastEngine: InferenceEngine, @unchecked Sendable {
    public let model: Model
    public let options: FastEngineOptions
    let context: DNNLContext
    let kinds: [FastNode]
    /// Per value slot (inputs first, then nodes): the last node index reading it; `Int.max` for outputs.
    let lastUse: [Int]
    /// Per model input: the per-sample dims (without batch) the plans assume; nil when no node reads it.
    let inputDims: [[Int]?]
    /// Where multi-threaded passes run; nil for a one-thread engine, which runs on the caller's thread.
    private let lane: OpenMPLane?
    private let lock = NSLock()
    private var plans: [Int: FastPlan] = [:]
    /// The memory every plan's pass works in, sized for the largest plan so far (see `FastWorkspace`).
    private var workspace: FastWorkspace?

    public init(model: Model, options: FastEngineOptions = FastEngineOptions()) throws(FastEngineError) {
        guard options.threads >= 0 else { throw .invalidThreads(options.threads) }
        guard options.lane >= 0 else { throw .invalidLane(options.lane) }
        if options.threads > 0 { OpenMPThreads.setEnvironment(options.threads) }
        self.model = model
        self.options = options
        let lane = options.threads == 1 ? nil : OpenMPLane.shared(options.lane)
        self.lane = lane
        let threads = options.threads > 0 ? options.threads : Int(OpenMPThreads.maxThreads?() ?? 1)
        // Samples run side by side only through `OpenMPThreads.forEachThread`; without it, one worker.
        let context = try DNNLContext(workers: OpenMPThreads.canRunRegions ? max(threads, 1) : 1)
        self.context = context
        // Measured now, outside any request and any parallel region, rather than by the first pass.
        _ = OpenMPThreads.regionNanoseconds

        let inputCount = model.spec.inputs.count
        let slots = inputCount + model.nodes.count
        func slot(_ ref: ValueRef) -> Int {
            switch ref {
            case .input(let index): index
            case .node(let index): inputCount + index
            }
        }
        var lastUse = [Int](repeating: -1, count: slots)
        var consumers = [Int](repeating: 0, count: slots)
        var inputDims = [[Int]?](repeating: nil, count: inputCount)
        for (index, node) in model.nodes.enumerated() {
            for (position, ref) in node.inputs.enumerated() {
                lastUse[slot(ref)] = index
                consumers[slot(ref)] += 1
                if case .input(let input) = ref, position < node.inputShapes.count {
                    inputDims[input] = Array(node.inputShapes[position].dropFirst())
                }
            }
        }
        for ref in model.outputRefs { lastUse[slot(ref)] = Int.max }
        self.lastUse = lastUse
        self.inputDims = inputDims
        // Preparing layers runs oneDNN reorders, parallel regions that belong on the engine's threads.
        kinds = try Self.onThreads(lane: lane, threads: options.threads) { () throws(FastEngineError) in
            try Self.nodeKinds(model: model, options: options, context: context, inputCount: inputCount,
                               consumers: consumers, lastUse: lastUse)
        }
    }

    /// Decides each node's kind; a convolution whose only reader is a parameterless activation takes
    /// that activation as a post-op.
    private static func nodeKinds(model: Model, options: FastEngineOptions, context: DNNLContext, inputCount: Int,
                                  consumers: [Int], lastUse: [Int]) throws(FastEngineError) -> [FastNode] {
        var kinds = [FastNode](repeating: .reference, count: model.nodes.count)
        func slot(_ ref: ValueRef) -> Int {
            switch ref {
            case .input(let index): index
            case .node(let index): inputCount + index
            }
        }
        for (index, node) in model.nodes.enumerated() {
            switch kinds[index] {
            case .fusedActivation, .foldedBatchNorm: continue
            default: break
            }
            var fusable: (index: Int, kind: ActivationKind)?
            if index + 1 < model.nodes.count, consumers[inputCount + index] == 1, lastUse[inputCount + index] == index + 1,
               let next = model.nodes[index + 1].op as? Activation, model.nodes[index + 1].inputs == [.node(index)] {
                fusable = (index + 1, next.kind)
            }
            let fourD = node.inputShapes.first?.count == 4 && node.outputShape.count == 4
            switch node.op {
            case let op as Conv2d where fourD:
                let layer = StaticConvLayer(op: op, node: node.name, postOp: fusable?.kind,
                                            inputShape: node.inputShapes[0], outputShape: node.outputShape)
                // Reorders the weights now, and proves oneDNN takes the shape.
                if (try? layer.prepare(batch: 1, context: context)) != nil {
                    kinds[index] = .convolution(layer)
                    if let fusable { kinds[fusable.index] = .fusedActivation }
                }
            case let op as DynamicConv2d where fourD:
                if let layer = try? DynamicConvLayer(op: op, node: node.name, postOp: fusable?.kind,
                                                     inputShape: node.inputShapes[0], outputShape: node.outputShape,
                                                     context: context, precision: options.expertPrecision) {
                    kinds[index] = .dynamicConvolution(layer)
                    if let fusable { kinds[fusable.index] = .fusedActivation }
                }
            case let op as RoutedDynamicConv2d where fourD:
                // A batch norm that only this convolution feeds is folded in exactly (any routing weights),
                // and an activation that only the batch norm feeds becomes the post-op.
                var batchNorm: (index: Int, op: BatchNorm)?
                var activation = fusable
                if index + 1 < model.nodes.count, consumers[inputCount + index] == 1, lastUse[inputCount + index] == index + 1,
                   let norm = model.nodes[index + 1].op as? BatchNorm, model.nodes[index + 1].inputs == [.node(index)],
                   norm.channelCount == node.outputShape[1] {
                    batchNorm = (index + 1, norm)
                    activation = nil
                    let after = index + 2
                    if after < model.nodes.count, consumers[inputCount + index + 1] == 1, lastUse[inputCount + index + 1] == after,
                       let next = model.nodes[after].op as? Activation, model.nodes[after].inputs == [.node(index + 1)] {
                        activation = (after, next.kind)
                    }
                }
                if let layer = try? DynamicConvLayer(routed: op, routingSlot: slot(node.inputs[1]), folding: batchNorm?.op,
                                                     node: node.name, postOp: activation?.kind, inputShape: node.inputShapes[0],
                                                     outputShape: node.outputShape, context: context,
                                                     precision: options.expertPrecision) {
                    kinds[index] = .dynamicConvolution(layer)
                    if let batchNorm { kinds[batchNorm.index] = .foldedBatchNorm }
                    if let activation { kinds[activation.index] = .fusedActivation }
                }
            case let op as ExpertRouting where node.inputShapes.first?.count == 4: kinds[index] = .expertRouting(op)
            case is Mul where fourD: kinds[index] = .mul
            case let op as Normalize: kinds[index] = .normalize(op)
            case let op as Activation: kinds[index] = .activation(op.kind)
            case is Add: kinds[index] = .add
            case let op as DyReLU where fourD: kinds[index] = .dyReLU(DyReLUWeights(op: op, channels: node.outputShape[1]))
            case is GlobalAvgPool where fourD: kinds[index] = .globalAvgPool
            case let op as Linear where node.inputShapes.first?.count == 2:
                let layer = LinearLayer(op: op, node: node.name)
                // Proves oneDNN takes the shape.
                if (try? layer.prepare(batch: 1, context: context)) != nil { kinds[index] = .linear(layer) }
            default: break
            }
        }
        return kinds
    }

    /// Runs `body` where the engine's OpenMP work belongs: on its lane (one team of threads shared by
    /// the engines of that lane, see `OpenMPLane`), or on the calling thread for a one-thread engine,
    /// whose regions start no threads. Either way with the engine's thread count applied first. The
    /// engine's lock is only ever taken inside (on the lane), so a lane never waits for it.
    private func onThreads<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        try Self.onThreads(lane: lane, threads: options.threads, body)
    }

    private static func onThreads<T, E: Error>(lane: OpenMPLane?, threads: Int, _ body: () throws(E) -> T) throws(E) -> T {
        guard let lane else {
            if threads > 0 { OpenMPThreads.apply(threads) }
            return try body()
        }
        return try lane.run { () throws(E) -> T in
            if threads > 0 { OpenMPThreads.apply(threads) }
            return try body()
        }
    }

    /// oneDNN's implementation name per convolution node (for diagnostics and the report).
    public var implementations: [(node: String, implementation: String)] {
        onThreads {
            lock.lock()
            defer { lock.unlock() }
            return model.nodes.indices.compactMap { index in
                switch kinds[index] {
                case .dynamicConvolution(let layer): (model.nodes[index].name, layer.primitive.implementation)
                case .convolution(let layer): (model.nodes[index].name, (try? layer.prepare(batch: 1, context: context))?.0.implementation ?? "?")
                default: nil
                }
            }
        }
    }

    /// Nodes that run their reference op instead of a fast path.
    public var referenceNodes: [String] {
        model.nodes.indices.compactMap { index in
            if case .reference = kinds[index] { return model.nodes[index].name }
            return nil
        }
    }

    /// Bytes of expert banks (what one request's aggregation reads).
    public var expertBytes: Int {
        kinds.reduce(0) { total, kind in
            if case .dynamicConvolution(let layer) = kind { return total + layer.bank.byteCount }
            return total
        }
    }

    public func run(_ inputs: [Tensor], options: RunOptions) throws(RunError) -> RunResult {
        try onThreads { () throws(RunError) in try execute(inputs, options: options, profile: false).result }
    }

    /// `run`, plus where each node's time went. The timings are measured in the same pass.
    public func runProfiled(_ inputs: [Tensor], options: RunOptions) throws(RunError) -> (RunResult, [LayerTiming]) {
        let (result, timings) = try onThreads { () throws(RunError) in try execute(inputs, options: options, profile: true) }
        return (result, timings ?? [])
    }

    /// Threads that run the samples of a batch side by side, one sample each at a time.
    var sampleWorkers: Int { context.streams.count }

    /// Whether a batch of this size runs its dynamic convolutions sample-parallel: the samples side by
    /// side, each thread aggregating one sample's kernel and running its convolution alone. One
    /// convolution per thread avoids oneDNN splitting small per-sample convolutions across threads (the
    /// synchronisation costs about a fifth of a 2-thread pass on dy-mobilenetv2).
    public func runsSampleParallel(batch: Int) -> Bool { batch > 1 && sampleWorkers > 1 }

    /// The plan for `batch` samples, built on first use of that batch size. Call with the lock held.
    func plan(batch: Int) throws(FastEngineError) -> FastPlan {
        if let plan = plans[batch] { return plan }
        var builder = FastPlanBuilder(engine: self, batch: batch)
        let plan = try builder.build()
        plans[batch] = plan
        return plan
    }

    /// The workspace, grown first if `plan` needs more than any plan before it. Call with the lock held.
    private func workspace(for plan: FastPlan) -> FastWorkspace {
        if let workspace, plan.sizes.fits(in: workspace.sizes) { return workspace }
        // Release the old workspace before allocating the larger one, so both are never resident at once.
        let sizes = workspace.map { $0.sizes.union(plan.sizes) } ?? plan.sizes
        workspace = nil
        let grown = FastWorkspace(sizes)
        workspace = grown
        return grown
    }

    private func execute(_ inputs: [Tensor], options: RunOptions, profile: Bool) throws(RunError) -> (result: RunResult, timings: [LayerTiming]?) {
        try model.validate(inputs)
        // Plans assume the node shapes of the loaded model; any other spatial size runs the reference.
        for (tensor, dims) in zip(inputs, inputDims) {
            if let dims, Array(tensor.shape.dropFirst()) != dims {
                return (try model.run(inputs, options: options), profile ? [] : nil)
            }
        }
        lock.lock()
        defer { lock.unlock() }
        let batch = inputs[0].shape[0]
        guard let plan = try? plan(batch: batch) else {
            // oneDNN refused a shape for this batch size: the reference path still answers.
            return (try model.run(inputs, options: options), profile ? [] : nil)
        }
        return FastExecution(engine: self, plan: plan, workspace: workspace(for: plan), inputs: inputs, options: options,
                             profile: profile).run()
    }
}
