import DyNN
import Logging

/// What every route needs, shared by all of them: built once by the serve command (or a test).
public struct ServiceContext: Sendable {
    public var registry: ModelRegistry
    public var executor: any InferenceExecutor
    public var traces: TraceStore
    public var metrics: ServiceMetrics
    public var limits: APILimits
    public var logger: Logger
    /// Reads `.npy` bodies; DyNN's reader unless a test injects another.
    public var readNpy: @Sendable ([UInt8]) throws -> Tensor

    public init(registry: ModelRegistry, executor: any InferenceExecutor, traces: TraceStore,
                metrics: ServiceMetrics, limits: APILimits, logger: Logger = Logger(label: "dyserve.api"),
                readNpy: @escaping @Sendable ([UInt8]) throws -> Tensor = { try Npy.read($0) }) {
        self.registry = registry
        self.executor = executor
        self.traces = traces
        self.metrics = metrics
        self.limits = limits
        self.logger = logger
        self.readNpy = readNpy
    }
}
