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
        not ready (503 on /readyz), finishes the requests it has accepted, and exits.
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

    func run() throws {
        var overrides: [ConfigOverride] = []
        if let host { overrides.append(ConfigOverride(key: "server.host", value: host, source: "--host")) }
        if let port { overrides.append(ConfigOverride(key: "server.port", value: String(port), source: "--port")) }
        if let modelsDirectory {
            overrides.append(ConfigOverride(key: "models.directory", value: modelsDirectory, source: "--models-dir"))
        }
        if let models { overrides.append(ConfigOverride(key: "models.names", value: models, source: "--models")) }
        let config: ServiceConfig
        do {
            config = try ServiceConfig.load(filePath: self.config, overrides: overrides)
        } catch {
            throw ValidationError("\(error)")
        }
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
        let level = config.logLevel.loggerLevel
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        logger = Logger(label: "dyserve")
    }

    func run() throws {
        let modelsDirectory = URL(fileURLWithPath: config.models.directory, isDirectory: true)
        let names = config.models.names ?? ModelDirectory.discover(modelsDirectory)
        guard !names.isEmpty else {
            throw ValidationError("no models to serve: \(modelsDirectory.path) has no model folders and models.names is empty")
        }
        let registry = ModelRegistry(names: names)
        let metrics = ServiceMetrics(modelNames: names)
        let executor = WorkerPoolExecutor(threads: config.inference.threads)
        let context = ServiceContext(
            registry: registry, executor: executor,
            traces: TraceStore(limits: TraceStoreLimits(config)),
            metrics: metrics, limits: APILimits(config), logger: Logger(label: "dyserve.api"))

        let allLoaded = registry.loadAll(using: { name in
            try DyNNServableModel.load(name, modelsDirectory: modelsDirectory)
        }, report: { report in
            switch report.result {
            case .success(let info):
                logger.info("loaded \(report.name): \(info.parameters) parameters in \(Self.milliseconds(report.seconds)) ms")
            case .failure(let failure):
                logger.error("failed to load \(report.name): \(failure)")
            }
        })
        guard allLoaded else {
            executor.shutdown()
            throw ValidationError("not every configured model loaded; see above")
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

        let server = HTTPServer(configuration: HTTPServerConfiguration(config), handler: APIHandler(context: context),
                                logger: Logger(label: "dyserve.http"))
        do {
            try server.start(host: config.server.host, port: config.server.port)
        } catch {
            executor.shutdown()
            throw ValidationError("\(error)")
        }
        let port = server.boundPort ?? config.server.port
        print("dyserve listening on http://\(Self.urlHost(config.server.host)):\(port)")
        fflush(nil)  // flush stdout now: a supervisor may wait for this line

        stopRequested.wait()
        // Not ready first, so load balancers stop routing here; then let accepted work finish.
        registry.beginShutdown()
        logger.info("stopping: readiness is now 503; finishing accepted requests")
        executor.shutdown()
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
