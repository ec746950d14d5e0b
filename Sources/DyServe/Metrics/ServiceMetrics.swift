import CoreMetrics
import Foundation
import Prometheus

/// Every metric the service exports, created through swift-metrics on a Prometheus registry this
/// object owns (not the process-global bootstrap), so several services or tests never share state.
///
/// Per model (label `model`): `dyserve_requests_total{code}`, `dyserve_request_duration_seconds`,
/// `dyserve_queue_duration_seconds`, `dyserve_compute_duration_seconds`, `dyserve_inferences_total`
/// (samples), `dyserve_in_flight_requests`, `dyserve_rejections_total{reason}` (queue_full,
/// timeout, shutdown, client_gone), all recorded by `InferencePipeline`; sampled when rendered,
/// `dyserve_attention_store_entries` and `_bytes`; from the scheduler `dyserve_queue_depth`
/// (requests waiting) and `dyserve_batch_size` (samples per execution, histogram); and from model
/// loads `dyserve_model_load_duration_seconds`, `dyserve_model_load_failures_total` and
/// `dyserve_model_reference_fallback_nodes`.
/// Whole process: `dyserve_http_requests_total{route, code}`, `dyserve_uptime_seconds`,
/// `dyserve_ready`, and the standard `process_*` metrics (`ProcessMetrics`).
/// Attention drift per model and dynamic layer, unless turned off: see `AttentionDriftMetrics`.
public final class ServiceMetrics: @unchecked Sendable {
    public let registry: PrometheusCollectorRegistry
    private let factory: PrometheusMetricsFactory
    private let started = DispatchTime.now().uptimeNanoseconds

    /// Request and compute times here range from tens of microseconds (dy-digits) to seconds.
    static let durationBuckets: [Duration] = [
        .microseconds(50), .microseconds(100), .microseconds(250), .microseconds(500),
        .milliseconds(1), .milliseconds(2.5), .milliseconds(5), .milliseconds(10), .milliseconds(25),
        .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
        .seconds(1), .seconds(2.5), .seconds(5), .seconds(10),
    ]

    /// Samples per execution: powers of two up to the largest sensible `max_batch_size`.
    static let batchSizeBuckets: [Double] = [1, 2, 4, 8, 16, 32, 64, 128, 256]

    /// The per-model instruments, created once per model name.
    final class ModelMetrics: @unchecked Sendable {
        let requestDuration: CoreMetrics.Timer
        let queueDuration: CoreMetrics.Timer
        let computeDuration: CoreMetrics.Timer
        let inferences: CoreMetrics.Counter
        let inFlight: Meter
        let storeEntries: Meter
        let storeBytes: Meter
        let queueDepth: Meter
        let batchSize: Recorder
        private let lock = NSLock()
        private var requestsByCode: [Int: CoreMetrics.Counter] = [:]
        private var rejectionsByReason: [RejectionReason: CoreMetrics.Counter] = [:]
        private let model: String
        private let factory: PrometheusMetricsFactory

        init(model: String, factory: PrometheusMetricsFactory) {
            self.model = model
            self.factory = factory
            let labels = [("model", model)]
            requestDuration = Timer(label: "dyserve_request_duration_seconds", dimensions: labels, factory: factory)
            queueDuration = Timer(label: "dyserve_queue_duration_seconds", dimensions: labels, factory: factory)
            computeDuration = Timer(label: "dyserve_compute_duration_seconds", dimensions: labels, factory: factory)
            inferences = Counter(label: "dyserve_inferences_total", dimensions: labels, factory: factory)
            inFlight = Meter(label: "dyserve_in_flight_requests", dimensions: labels, factory: factory)
            storeEntries = Meter(label: "dyserve_attention_store_entries", dimensions: labels, factory: factory)
            storeBytes = Meter(label: "dyserve_attention_store_bytes", dimensions: labels, factory: factory)
            queueDepth = Meter(label: "dyserve_queue_depth", dimensions: labels, factory: factory)
            batchSize = Recorder(label: "dyserve_batch_size", dimensions: labels, aggregate: true, factory: factory)
            // Every reason appears from the start, at zero, so rates work without a first event.
            for reason in RejectionReason.allCases { _ = rejections(reason) }
        }

        func rejections(_ reason: RejectionReason) -> CoreMetrics.Counter {
            lock.withLock {
                if let c = rejectionsByReason[reason] { return c }
                let c = Counter(label: "dyserve_rejections_total",
                                dimensions: [("model", model), ("reason", reason.rawValue)], factory: factory)
                rejectionsByReason[reason] = c
                return c
            }
        }

        func requests(code: Int) -> CoreMetrics.Counter {
            lock.withLock {
                if let c = requestsByCode[code] { return c }
                let c = Counter(label: "dyserve_requests_total",
                                dimensions: [("model", model), ("code", String(code))], factory: factory)
                requestsByCode[code] = c
                return c
            }
        }
    }

    private let lock = NSLock()
    private var models: [String: ModelMetrics] = [:]
    private var httpByRouteAndCode: [String: CoreMetrics.Counter] = [:]
    private let process: ProcessMetrics
    private let uptime: Meter
    private let ready: Meter
    /// Nil when `metrics.attention_drift` is off.
    public let attentionDrift: AttentionDriftMetrics?

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry(), modelNames: [String] = [],
                attentionDrift: Bool = true) {
        self.registry = registry
        self.attentionDrift = attentionDrift ? AttentionDriftMetrics(registry: registry) : nil
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = Self.durationBuckets
        factory.valueHistogramBuckets["dyserve_batch_size"] = Self.batchSizeBuckets
        self.factory = factory
        process = ProcessMetrics(registry: registry)
        uptime = Meter(label: "dyserve_uptime_seconds", dimensions: [], factory: factory)
        ready = Meter(label: "dyserve_ready", dimensions: [], factory: factory)
        // Known models appear in the output from the start, at zero, so dashboards see them.
        for name in modelNames { _ = model(name) }
    }

    /// The instruments of a configured model. Only call with configured names: user-supplied
    /// names would let any client create unbounded series.
    func model(_ name: String) -> ModelMetrics {
        lock.withLock {
            if let m = models[name] { return m }
            let m = ModelMetrics(model: name, factory: factory)
            models[name] = m
            return m
        }
    }

    /// One model load (start-up, repository call or poll): `dyserve_model_load_duration_seconds`
    /// and, when it failed, `dyserve_model_load_failures_total`. Only for names of existing model
    /// folders, so the series stay bounded.
    public func recordModelLoad(_ name: String, seconds: Double, failed: Bool) {
        Timer(label: "dyserve_model_load_duration_seconds", dimensions: [("model", name)], factory: factory)
            .recordNanoseconds(Int64(seconds * 1e9))
        let failures = Counter(label: "dyserve_model_load_failures_total", dimensions: [("model", name)], factory: factory)
        if failed { failures.increment() }
    }

    /// How many of a loaded model's nodes run their reference op on the fast backend (ops the fast
    /// path does not cover, decided at load and logged at warning then):
    /// `dyserve_model_reference_fallback_nodes`, so a change after a model or engine update shows.
    public func recordReferenceFallbacks(_ name: String, nodes: Int) {
        Meter(label: "dyserve_model_reference_fallback_nodes", dimensions: [("model", name)], factory: factory)
            .set(nodes)
    }

    /// Counts one HTTP response; `route` is one of the router's fixed route names.
    func countHTTP(route: String, code: Int) {
        let key = "\(route) \(code)"
        let counter = lock.withLock {
            if let c = httpByRouteAndCode[key] { return c }
            let c = Counter(label: "dyserve_http_requests_total",
                            dimensions: [("route", route), ("code", String(code))], factory: factory)
            httpByRouteAndCode[key] = c
            return c
        }
        counter.increment()
    }

    /// Refreshes the sampled gauges and renders the Prometheus text format.
    func render(store: TraceStore?, ready isReady: Bool) -> [UInt8] {
        process.refresh()
        uptime.set(Double(DispatchTime.now().uptimeNanoseconds &- started) / 1e9)
        ready.set(isReady ? 1 : 0)
        if let store {
            let all = lock.withLock { models }
            for (name, m) in all {
                let u = store.usage(model: name)
                m.storeEntries.set(u.entries)
                m.storeBytes.set(u.bytes)
            }
        }
        return registry.emitToBuffer()
    }
}
