import ArgumentParser
import Dispatch
import DyNN
import DyServe
import Foundation
import Logging

/// `dyserve serve`: load the configured models and serve them over HTTP until SIGINT or SIGTERM.
struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the configured models over HTTP.",
        discussion: """
        Configuration comes from --config (else $DYSERVE_CONFIG, else config/dyserve.yaml when it exists), \
        then DYSERVE_* environment variables, then these flags. On SIGINT or SIGTERM the service reports \
        not ready (503 on /readyz) and refuses new inference requests (503), answers every request it has \
        accepted, and exits 0 within server.shutdown_timeout_s.
        """)

    @Option(name: .long, help: "YAML configuration file.")
    var config: String?

    @Option(name: .long, help: "Address to listen on (server.host).")
    var host: String?

    @Option(name: .long, help: "TCP port; 0 picks a free one (server.port).")
    var port: Int?

    @Option(name: .customLong("models-dir"), help: "Folder holding one sub-folder per model (models.directory).")
    var modelsDirectory: String?

    @Option(name: .customLong("models"), help: "Comma-separated model names to load (models.names); default: every model folder.")
    var models: String?

    @Option(name: .long, help: "fast (oneDNN) or reference (plain Swift ops) (inference.backend).")
    var backend: String?

    func run() throws {
        var overrides: [ConfigOverride] = []
        if let host { overrides.append(ConfigOverride(key: "server.host", value: host, source: "--host")) }
        if let port { overrides.append(ConfigOverride(key: "server.port", value: String(port), source: "--port")) }
        if let modelsDirectory {
            overrides.append(ConfigOverride(key: "models.directory", value: modelsDirectory, source: "--models-dir"))
        }
        if let models { overrides.append(ConfigOverride(key: "models.names", value: models, source: "--models")) }
        if let backend { overrides.append(ConfigOverride(key: "inference.backend", value: backend, source: "--backend")) }
        let config: ServiceConfig
        do {
            config = try ServiceConfig.load(filePath: self.config, overrides: overrides)
        } catch {
            throw ValidationError("\(error)")
        }
        EngineEnvironment.ensure(for: config.inference.backend)
        let service = try ServiceRunner(config: config)
        try service.run()
    }
}

/// Builds the service from a configuration and runs it until a stop signal.
final class ServiceRunner {
    let config: ServiceConfig
    let logger: Logger

    init(config: ServiceConfig) throws {
        self.config = config
        let level = config.logLevel
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        logger = Logger(label: "dyserve")
    }

    func run() throws {
        // Keys are read and checked before any model loads, so a bad keys file fails fast.
        let auth: AuthGate
        do {
            auth = try AuthGate(config.auth)
        } catch {
            throw ServeFailure("\(error)")
        }
        if auth.isEnabled {
            logger.info("authentication on: \(auth.keyCount) API key(s); metrics \(auth.policy.metrics), metadata \(auth.policy.metadata), explorer \(auth.policy.explorer)")
        }
        let modelsDirectory = URL(fileURLWithPath: config.models.directory, isDirectory: true)
        let names = config.models.names ?? ModelDirectory.discover(modelsDirectory)
        guard !names.isEmpty else {
            throw ServeFailure("no models to serve: \(modelsDirectory.path) has no model folders and models.names is empty")
        }
        if let unknown = config.inference.fp16Experts.first(where: { !names.contains($0) }) {
            throw ServeFailure("inference.fp16_experts names '\(unknown)', which is not among the models to serve (\(names.joined(separator: ", ")))")
        }
        let registry = ModelRegistry(names: names)
        let metrics = ServiceMetrics(modelNames: names, attentionDrift: config.metrics.attentionDrift)
        let budget = ComputeBudget(config)
        let executor = SchedulingExecutor(settings: SchedulerSettings(config), budget: budget, metrics: metrics)
        logger.info("scheduler: \(config.inference.backend) backend on \(budget.cores) core(s), intra-op threads \(budget.intraOpThreads == 0 ? "per model" : String(budget.intraOpThreads)); max_batch_size \(config.scheduler.maxBatchSize), max_queue_delay_us \(config.scheduler.maxQueueDelayMicroseconds), max_queue_size \(config.scheduler.maxQueueSize)")
        let backend = config.inference.backend
        let inference = config.inference
        let maxEngineBatch = config.scheduler.maxBatchSize
        let logger = logger
        // Loads one model folder for the chosen backend: at start-up, and later through the
        // model repository (POST /v2/repository/models/{m}/load, models.poll_interval_s).
        let loadModel: @Sendable (String) throws -> any ServableModel = { name in
            let model = try Model.load(from: try Model.resolve(name, modelsDirectory: modelsDirectory))
            let needs = budget.needs(forModelWithMultiplyAdds: model.summary(batch: 1).totalMacs)
            // Engines plan every batch size the scheduler forms, now, so no request pays for planning
            // and their memory is fixed by the configuration.
            let engines = try backend.makeEngines(for: model, needs: needs, options: FastEngineOptions(
                expertPrecision: inference.expertPrecision(of: name), batchSizes: FastEngineOptions.batchSizes(upTo: maxEngineBatch)))
            let fallbacks = engines.first?.fallbacks ?? []
            for fallback in fallbacks {
                logger.warning("\(name): \(fallback) on the \(backend.rawValue) backend")
            }
            metrics.recordReferenceFallbacks(name, nodes: fallbacks.count)
            let replicas = engines.map {
                DyNNServableModel(engine: $0, intraOpThreads: needs.threadsPerExecution, maxEngineBatch: maxEngineBatch)
            }
            return replicas.count == 1 ? replicas[0] : ReplicatedModel(replicas: replicas)
        }
        // An unload waits for the model's admitted requests, which end by their deadline at the latest.
        let drainLimit = Duration.milliseconds(config.scheduler.timeoutMilliseconds) + .seconds(1)
        let repository = ModelRepository(directory: modelsDirectory, registry: registry, metrics: metrics,
                                         loader: loadModel,
                                         drain: { name in _ = executor.waitUntilIdle(model: name, timeout: drainLimit) })
        var context = ServiceContext(
            registry: registry, executor: executor,
            traces: TraceStore(limits: TraceStoreLimits(config)),
            metrics: metrics, limits: APILimits(config), logger: Logger(label: "dyserve.api"),
            scheduling: executor.settings, inferenceCores: budget.cores, repository: repository)
        context.auth = auth

        let allLoaded = registry.loadAll(using: loadModel, report: { report in
            switch report.result {
            case .success(let info):
                let model = registry.state(of: report.name).flatMap { state -> (any ServableModel)? in
                    if case .ready(let m, _) = state { return m }
                    return nil
                }
                let threads = model?.intraOpThreads ?? 1
                logger.info("loaded \(report.name): \(info.parameters) parameters, \(info.multiplyAdds) multiply-adds per sample in \(Self.milliseconds(report.seconds)) ms; \(budget.concurrentExecutions(threads: threads)) execution(s) at once x \(threads) intra-op thread(s)\(backend == .fast && inference.expertPrecision(of: report.name) == .fp16 ? ", fp16 experts" : "")")
            case .failure(let failure):
                logger.error("failed to load \(report.name): \(failure)")
            }
            let failed = if case .failure = report.result { true } else { false }
            metrics.recordModelLoad(report.name, seconds: report.seconds, failed: failed)
        })
        guard allLoaded else {
            executor.beginShutdown()
            throw ServeFailure("not every configured model loaded; see above")
        }

        // Signals are handled on a queue, never by the default action, so shutdown is orderly.
        signal(SIGPIPE, SIG_IGN)
        let stopRequested = DispatchSemaphore(value: 0)
        let signalQueue = DispatchQueue(label: "dyserve.signals")
        let sources = [SIGINT, SIGTERM].map { number -> DispatchSourceSignal in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: signalQueue)
            source.setEventHandler { stopRequested.signal() }
            source.resume()
            return source
        }

        let server: HTTPServer
        do {
            server = HTTPServer(configuration: try HTTPServerConfiguration(config), handler: APIHandler(context: context),
                                logger: Logger(label: "dyserve.http"))
            try server.start(host: config.server.host, port: config.server.port)
        } catch {
            executor.beginShutdown()
            throw ServeFailure("\(error)")
        }
        let poller = config.models.pollIntervalSeconds > 0
            ? ModelRepositoryPoller(repository: repository, intervalSeconds: Double(config.models.pollIntervalSeconds)) : nil
        poller?.start()
        let port = server.boundPort ?? config.server.port
        let scheme = server.configuration.tlsKeyPEM == nil ? "http" : "https"
        print("dyserve listening on \(scheme)://\(Self.urlHost(config.server.host)):\(port)")
        fflush(nil)  // flush stdout now: a supervisor may wait for this line

        stopRequested.wait()
        poller?.stop()
        // Not ready first, so load balancers stop routing here, and new inference requests get
        // 503; then let every accepted request finish and be answered, within the time limit.
        registry.beginShutdown()
        executor.beginShutdown()
        let limit = Duration.seconds(config.server.shutdownTimeoutSeconds)
        logger.info("stopping: readiness is now 503; finishing \(executor.queued) queued requests (at most \(config.server.shutdownTimeoutSeconds) s)")
        // Keep a margin of the limit for answering leftovers and stopping the server.
        let margin = min(Duration.seconds(1), limit / 4)
        if !executor.waitUntilDrained(timeout: limit - margin) {
            let abandoned = executor.abandonQueued()
            logger.warning("shutdown_timeout_s reached: answered \(abandoned) queued requests with 503")
            _ = executor.waitUntilDrained(timeout: margin / 2)
        }
        // Answers handed to the server are written by its polling thread; give it a moment to
        // flush them before stopping the daemon closes every connection.
        Thread.sleep(forTimeInterval: 0.2)
        server.stop()
        sources.forEach { $0.cancel() }
        print("dyserve stopped")
    }

    static func milliseconds(_ seconds: Double) -> String {
        String(Int((seconds * 1000).rounded()))
    }

    /// IPv6 literals need brackets in a URL.
    static func urlHost(_ host: String) -> String {
        host.contains(":") ? "[\(host)]" : host
    }
}

/// A failure of `serve` after its arguments were accepted (a model that does not load, a port in
/// use): reported as an error with exit status 1, without the usage text a `ValidationError` prints.
struct ServeFailure: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) {
        self.description = description
    }
}
