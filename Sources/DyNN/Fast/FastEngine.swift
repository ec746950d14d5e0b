import CDNNL
import Foundation

/// The fast CPU backend: oneDNN convolutions on NHWC activations, dynamic convolutions aggregated in
/// the primitive's own weight layout, element-wise ops fused or run as single passes over planned
/// buffers. Computes what `Model.run` computes, within FP32 tolerance (the reference stays the oracle).
/// Ops it does not cover run their reference op; that is decided when the engine is built and listed in
/// `fallbacks`. Anything else that fails (oneDNN refusing a layer at load time, or failing in a pass)
/// is an error naming the call, status and node: never a silent switch to the slower reference path.
///
/// Plans: one per batch size in `FastEngineOptions.batchSizes`, all made when the engine is built, with
/// one workspace sized for the largest; a larger batch, or one of a size without a plan, runs as chunks
/// of planned sizes. No pass plans or allocates, and the engine's memory is fixed once it is built.
///
/// Concurrency: `run` may be called from any number of threads; executions are serialised by a lock
/// inside the engine (one workspace of buffers shared by all plans). Parallelism comes from oneDNN's
/// intra-op threads at batch 1; a larger batch also runs its samples' dynamic convolutions side by side,
/// one per thread (`runsSampleParallel`): the attention's FC1 computed for the whole batch at once where
/// the experts are large, and each sample taken through several layers at once where its activations
/// are (see `FastExecution+DynamicConvolution.swift`). A scheduler in front of the engine decides batching.
///
/// Threads: `FastEngineOptions.threads > 0` is applied on the executing thread before every pass (and
/// before the layers are prepared); the process environment is left alone. An engine with more than
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
    /// One plan per planned batch size, made in `init` and never changed after (read without the lock).
    private var plans: [Int: FastPlan] = [:]
    /// The memory every plan's pass works in, sized for the largest plan (see `FastWorkspace`).
    private var workspace: FastWorkspace?
    /// Nodes that run their reference op, with why; decided at load time.
    public let fallbacks: [ReferenceFallback]
    /// Tests only: consulted before every step of a pass; an error it returns fails the pass as a failing
    /// step would. Set before the engine runs.
    var injectedStepFailure: ((FastStep) -> FastEngineError?)?

    public init(model: Model, options: FastEngineOptions = FastEngineOptions()) throws(FastEngineError) {
        guard options.threads >= 0 else { throw .invalidThreads(options.threads) }
        guard options.lane >= 0 else { throw .invalidLane(options.lane) }
        guard !options.batchSizes.isEmpty, options.batchSizes.allSatisfy({ (1...FastEngineOptions.maxPlannedBatch).contains($0) }) else {
            throw .invalidBatchSizes(options.batchSizes)
        }
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
        let kinds = try Self.onThreads(lane: lane, threads: options.threads) { () throws(FastEngineError) in
            try Self.nodeKinds(model: model, options: options, context: context, inputCount: inputCount,
                               consumers: consumers, lastUse: lastUse)
        }
        self.kinds = kinds
        fallbacks = model.nodes.indices.compactMap { index in
            guard case .reference = kinds[index] else { return nil }
            let node = model.nodes[index]
            return ReferenceFallback(node: node.name, op: node.op.opName, inputShapes: node.inputShapes)
        }
        try onThreads { () throws(FastEngineError) in try makePlans() }
    }

    /// The plans of every planned batch size and the workspace they share, sized for the largest.
    private func makePlans() throws(FastEngineError) {
        var sizes: FastWorkspace.Sizes?
        for batch in options.plannedBatches {
            var builder = FastPlanBuilder(engine: self, batch: batch)
            let plan = try builder.build()
            plans[batch] = plan
            sizes = sizes.map { $0.union(plan.sizes) } ?? plan.sizes
        }
        workspace = sizes.map(FastWorkspace.init)
    }

    /// Decides each node's kind; a convolution whose only reader is a parameterless activation takes
    /// that activation as a post-op.
    private static func nodeKinds(model: Model, options: FastEngineOptions, context: DNNLContext, inputCount: Int,
                                  consumers: [Int], lastUse: [Int]) throws(FastEngineError) -> [FastNode] {
        var kinds = [FastNode](repeating: .reference, count: model.nodes.count)
        let dyReLUArena = DyReLUWeightArena(ops: model.nodes.compactMap { $0.op as? DyReLU })
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
                // Reorders the weights now; a shape oneDNN refuses fails the load with its cause.
                _ = try layer.prepare(batch: 1, context: context)
                kinds[index] = .convolution(layer)
                if let fusable { kinds[fusable.index] = .fusedActivation }
            case let op as DynamicConv2d where fourD:
                let layer = try DynamicConvLayer(op: op, node: node.name, postOp: fusable?.kind,
                                                 inputShape: node.inputShapes[0], outputShape: node.outputShape,
                                                 context: context, precision: options.expertPrecision)
                kinds[index] = .dynamicConvolution(layer)
                if let fusable { kinds[fusable.index] = .fusedActivation }
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
                let layer = try DynamicConvLayer(routed: op, routingSlot: slot(node.inputs[1]), folding: batchNorm?.op,
                                                 node: node.name, postOp: activation?.kind, inputShape: node.inputShapes[0],
                                                 outputShape: node.outputShape, context: context,
                                                 precision: options.expertPrecision)
                kinds[index] = .dynamicConvolution(layer)
                if let batchNorm { kinds[batchNorm.index] = .foldedBatchNorm }
                if let activation { kinds[activation.index] = .fusedActivation }
            case let op as ExpertRouting where node.inputShapes.first?.count == 4: kinds[index] = .expertRouting(op)
            case is Mul where fourD: kinds[index] = .mul
            case let op as Normalize: kinds[index] = .normalize(op)
            case let op as Activation: kinds[index] = .activation(op.kind)
            case is Add: kinds[index] = .add
            case let op as DyReLU where fourD:
                kinds[index] = .dyReLU(DyReLUWeights(op: op, channels: node.outputShape[1], arena: dyReLUArena))
            case is GlobalAvgPool where fourD: kinds[index] = .globalAvgPool
            case let op as Linear where node.inputShapes.first?.count == 2:
                let layer = LinearLayer(op: op, node: node.name)
                // Proves oneDNN takes the shape; a refusal fails the load with its cause.
                _ = try layer.prepare(batch: 1, context: context)
                kinds[index] = .linear(layer)
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

    /// Nodes that run their reference op instead of a fast path (`fallbacks`' nodes).
    public var referenceNodes: [String] { fallbacks.map(\.node) }

    /// The batch sizes that have a plan, ascending.
    public var plannedBatchSizes: [Int] { plans.keys.sorted() }

    /// How many plans the engine holds: fixed when it is built, whatever batches it runs.
    public var planCount: Int { plans.count }

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

    /// Below this many multiply-adds per sample, an execution gains nothing from a second thread: a pass
    /// that short costs about what the OpenMP fork and join of each of its layers would, so such a model
    /// runs on one thread and more of its executions run at once instead.
    public static let singleThreadMaxMultiplyAdds = 20_000_000

    /// The threads the fast engine wants per execution of a model with `multiplyAdds` per sample on
    /// `cores` cores: one for a small model, every core for a larger one.
    public static func threads(forMultiplyAdds multiplyAdds: Int, cores: Int) -> Int {
        multiplyAdds < singleThreadMaxMultiplyAdds ? 1 : max(1, cores)
    }

    /// Threads that run the samples of a batch side by side, one sample each at a time.
    var sampleWorkers: Int { context.streams.count }

    /// Whether a batch of this size runs its dynamic convolutions sample-parallel: the samples side by
    /// side, each thread aggregating one sample's kernel and running its convolution alone. One
    /// convolution per thread avoids oneDNN splitting small per-sample convolutions across threads (the
    /// synchronisation costs about a fifth of a 2-thread pass on dy-mobilenetv2).
    public func runsSampleParallel(batch: Int) -> Bool { batch > 1 && sampleWorkers > 1 }

    /// The sizes a batch of `batch` samples runs as: the largest planned size that fits, repeatedly, so a
    /// batch of a planned size runs whole. Planned sizes always include 1, so any batch decomposes.
    public func chunkSizes(batch: Int) -> [Int] {
        let sizes = plannedBatchSizes.reversed()
        var chunks: [Int] = []
        var left = batch
        while left > 0, let size = sizes.first(where: { $0 <= left }) {
            chunks.append(size)
            left -= size
        }
        return chunks
    }

    private func execute(_ inputs: [Tensor], options: RunOptions, profile: Bool) throws(RunError) -> (result: RunResult, timings: [LayerTiming]?) {
        // The model's input checks also fix every non-batch dimension, which is what the plans assume.
        try model.validate(inputs)
        let chunks = chunkSizes(batch: inputs[0].shape[0])
        guard chunks.count > 1 else { return try executePlanned(inputs, options: options, profile: profile) }
        var result: RunResult?
        var timings: [LayerTiming]?
        var start = 0
        for count in chunks {
            let part = try executePlanned(inputs.map { $0.samples(start, count) }, options: options, profile: profile)
            result = result.map { $0.appending(part.result) } ?? part.result
            timings = timings.map { zip($0, part.timings ?? []).map { $0.adding($1) } } ?? part.timings
            start += count
        }
        return (result ?? RunResult(outputs: [], trace: []), timings)
    }

    /// One pass over the plan of the inputs' batch size, which has one.
    private func executePlanned(_ inputs: [Tensor], options: RunOptions, profile: Bool) throws(RunError) -> (result: RunResult, timings: [LayerTiming]?) {
        lock.lock()
        defer { lock.unlock() }
        let batch = inputs[0].shape[0]
        guard let plan = plans[batch], let workspace else { preconditionFailure("no plan for batch \(batch)") }
        do {
            return try FastExecution(engine: self, plan: plan, workspace: workspace, inputs: inputs, options: options,
                                     profile: profile).run()
        } catch {
            throw .engineFailure(error)
        }
    }
}
