import DyNN
import Logging

/// What every route needs, shared by all of them: built once by the serve command (or a test).
public struct ServiceContext: Sendable {
    public var registry: ModelRegistry
    /// The executor the routes submit to: the one given, wrapped so that every completed job
    /// feeds `statistics`.
    public var executor: any InferenceExecutor
    public var traces: TraceStore
    public var metrics: ServiceMetrics
    public var limits: APILimits
    public var logger: Logger
    /// Per-model counts and durations for `GET /v2/models[/{m}]/stats`.
    public var statistics: InferenceStatistics
    /// Reads `.npy` bodies; DyNN's reader unless a test injects another.
    public var readNpy: @Sendable ([UInt8]) throws -> Tensor

    public init(registry: ModelRegistry, executor: any InferenceExecutor, traces: TraceStore,
                metrics: ServiceMetrics, limits: APILimits, logger: Logger = Logger(label: "dyserve.api"),
                readNpy: @escaping @Sendable ([UInt8]) throws -> Tensor = { try Npy.read($0) }) {
        self.registry = registry
        let statistics = InferenceStatistics()
        self.statistics = statistics
        self.executor = StatisticsRecordingExecutor(inner: executor, statistics: statistics)
        self.traces = traces
        self.metrics = metrics
        self.limits = limits
        self.logger = logger
        self.readNpy = readNpy
    }
}
