import DyNN
import Logging

/// What every route needs, shared by all of them: built once by the serve command (or a test).
public struct ServiceContext: Sendable {
    public var registry: ModelRegistry
    /// The executor the inference pipeline submits to.
    public var executor: any InferenceExecutor
    public var traces: TraceStore
    public var metrics: ServiceMetrics
    public var limits: APILimits
    public var logger: Logger
    /// Per-model counts and durations for `GET /v2/models[/{m}]/stats`.
    public var statistics: InferenceStatistics
    /// Reads `.npy` bodies; DyNN's reader unless a test injects another.
    public var readNpy: @Sendable ([UInt8]) throws -> Tensor
    /// How the executor queues and batches, and the cores it runs on: what the V2 model
    /// configuration reports (`max_batch_size`, `dynamic_batching`, `instance_group`).
    public var scheduling: SchedulerSettings
    public var inferenceCores: Int
    /// The models folder as a live repository (`/v2/repository/...`); nil: models are fixed.
    public var repository: ModelRepository?
    /// Which requests need which API key scope (Sources/DyServe/Auth); off by default.
    public var auth = AuthGate.disabled

    public init(registry: ModelRegistry, executor: any InferenceExecutor, traces: TraceStore,
                metrics: ServiceMetrics, limits: APILimits, logger: Logger = Logger(label: "dyserve.api"),
                scheduling: SchedulerSettings = SchedulerSettings(), inferenceCores: Int = 1,
                repository: ModelRepository? = nil,
                readNpy: @escaping @Sendable ([UInt8]) throws -> Tensor = { try Npy.read($0) }) {
        self.registry = registry
        self.scheduling = scheduling
        self.inferenceCores = max(1, inferenceCores)
        self.repository = repository
        self.statistics = InferenceStatistics()
        self.executor = executor
        self.traces = traces
        self.metrics = metrics
        self.limits = limits
        self.logger = logger
        self.readNpy = readNpy
    }
}

extension ServiceContext {
    /// The trace level both inference routes run a request at: its own, raised to `attention` while
    /// drift metrics are on, so untraced requests count too. The engine computes every layer's pi for
    /// any request; this level only makes it hand a copy back (K floats per layer and sample).
    func engineTraceLevel(_ requested: TraceLevel) -> TraceLevel {
        metrics.attentionDrift == nil ? requested : max(requested, .attention)
    }
}
