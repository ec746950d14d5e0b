import Dispatch
import Foundation
import Logging

/// The models folder as a live repository (Triton's model repository extension): load or reload
/// a model from its folder, unload it, and list every folder with its state.
///
/// - Load: the folder is loaded beside the serving version, which keeps answering; once the new
///   one is ready the registry switches to it in one step, so no request is dropped (requests
///   already queued finish on the version they were admitted to). A failed load never touches
///   what is serving: a model that was serving keeps its old version (the failure is reported as
///   the reason), a new one is `failed` with the error.
/// - Unload: new requests for the model get 503 with `Retry-After` at once; the call returns after
///   every request of the model already queued or running has been answered.
/// - One load or unload runs at a time (a serial queue), so two calls for one model never race.
///
/// Loading and unloading are admin operations: anyone who can reach these endpoints can change
/// what the service serves (see docs/model-repository.md).
public final class ModelRepository: @unchecked Sendable {
    public let directory: URL
    let registry: ModelRegistry
    private let loader: @Sendable (String) throws -> any ServableModel
    /// Waits until every request of the model already admitted has been answered.
    private let drain: @Sendable (String) -> Void
    private let metrics: ServiceMetrics?
    private let logger: Logger
    private let queue = DispatchQueue(label: "dyserve.repository")

    public init(directory: URL, registry: ModelRegistry, metrics: ServiceMetrics?,
                logger: Logger = Logger(label: "dyserve.repository"),
                loader: @escaping @Sendable (String) throws -> any ServableModel,
                drain: @escaping @Sendable (String) -> Void) {
        self.directory = directory
        self.logger = logger
        self.registry = registry
        self.metrics = metrics
        self.loader = loader
        self.drain = drain
    }

    /// One row of `POST /v2/repository/index`.
    public struct Entry: Sendable, Equatable {
        public var name: String
        public var version: String?
        /// Triton's states: READY, LOADING, UNAVAILABLE.
        public var state: String
        public var reason: String
    }

    /// Every model folder in the directory and every model the registry knows, sorted by name.
    public func index() -> [Entry] {
        let names = Set(ModelDirectory.discover(directory)).union(registry.names).sorted()
        return names.map { name in
            let note = registry.loadNote(of: name)
            switch registry.state(of: name) {
            case .ready(let model, _)?:
                return Entry(name: name, version: model.info.version, state: "READY", reason: note ?? "")
            case .loading?:
                return Entry(name: name, version: nil, state: "LOADING", reason: "loading")
            case .failed(let reason)?:
                return Entry(name: name, version: nil, state: "UNAVAILABLE", reason: "failed to load: \(reason)")
            case .unloaded?:
                return Entry(name: name, version: nil, state: "UNAVAILABLE", reason: note ?? "unloaded")
            case nil:
                return Entry(name: name, version: nil, state: "UNAVAILABLE", reason: "not loaded")
            }
        }
    }

    /// Loads or reloads `name` from its folder, off the caller's thread; `completion` gets the
    /// error a client should see, or nil once the new version serves.
    public func load(_ name: String, completion: @escaping @Sendable (RequestError?) -> Void) {
        queue.async { [self] in completion(Self.failure { () throws(RequestError) in try loadNow(name) }) }
    }

    /// Unloads `name`, off the caller's thread; `completion` runs once its admitted requests are answered.
    public func unload(_ name: String, completion: @escaping @Sendable (RequestError?) -> Void) {
        queue.async { [self] in completion(Self.failure { () throws(RequestError) in try unloadNow(name) }) }
    }

    private static func failure(of work: () throws(RequestError) -> Void) -> RequestError? {
        do {
            try work()
            return nil
        } catch {
            return error
        }
    }

    /// Runs `work` after every load and unload queued before it (the poller's turn).
    func enqueue(_ work: @escaping @Sendable () -> Void) {
        queue.async(execute: work)
    }

    /// Must run on `queue`.
    func loadNow(_ name: String) throws(RequestError) {
        try checkFolder(name)
        registry.beginLoading(name)
        let start = DispatchTime.now().uptimeNanoseconds
        let outcome = Result { try loader(name) }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds &- start) / 1e9
        let failed = if case .failure = outcome { true } else { false }
        metrics?.recordModelLoad(name, seconds: seconds, failed: failed)
        switch outcome {
        case .success(let model):
            registry.setLoaded(name, model: model, loadSeconds: seconds)
            logger.info("loaded \(name) version \(model.info.version) in \(Int((seconds * 1000).rounded())) ms; it serves from now on")
        case .failure(let error):
            let servesOld = registry.loadFailed(name, reason: "\(error)")
            logger.error("failed to load \(name)\(servesOld ? " (the version loaded before still serves)" : ""): \(error)")
            throw .unavailable("model \"\(name)\" failed to load: \(error)"
                + (servesOld ? " (the version loaded before still serves)" : ""))
        }
    }

    /// Must run on `queue`.
    func unloadNow(_ name: String) throws(RequestError) {
        guard registry.setUnloaded(name) else {
            throw .notFound("unknown model \"\(name)\"; nothing to unload")
        }
        logger.info("unloading \(name): new requests get 503; answering those already admitted")
        drain(name)
        logger.info("unloaded \(name)")
    }

    /// A folder name, not a path (the name is a URL segment a client chose), holding a `model.json`.
    private func checkFolder(_ name: String) throws(RequestError) {
        guard !name.isEmpty, !name.hasPrefix("."), !name.contains("/"), !name.contains("\\") else {
            throw .badRequest("\"\(name)\" is not a model folder name")
        }
        let file = directory.appendingPathComponent(name).appendingPathComponent("model.json")
        guard FileManager.default.fileExists(atPath: file.path) else {
            throw .notFound("no model folder \"\(name)\" with a model.json in \(directory.path)")
        }
    }
}
