import Foundation

/// The served models and their load state; decides readiness.
///
/// Ready means no shutdown has begun and every model that should serve does: the models
/// configured at start-up and those loaded since through the repository, less those unloaded.
/// A configured model that failed to load keeps the service unready (and its error is what
/// `/readyz` reports), because serving a subset of the configuration silently is worse than
/// saying so. A model whose load through the repository failed does not: the models already
/// serving are unaffected, and the repository index says why it failed.
public final class ModelRegistry: @unchecked Sendable {
    public enum State: Sendable {
        case loading
        case ready(any ServableModel, loadSeconds: Double)
        case failed(String)
        /// Taken out of service by the repository's unload.
        case unloaded
    }

    private let lock = NSLock()
    /// Known names: configured ones in configuration order, then those loaded later.
    private var order: [String]
    private var states: [String: State]
    /// The models readiness waits for.
    private var required: Set<String>
    /// Per model, what the last load left to say while a version serves (reloading, or why the
    /// last reload failed).
    private var notes: [String: String] = [:]
    private var shuttingDown = false

    public init(names: [String]) {
        var unique: [String] = []
        for n in names where !unique.contains(n) { unique.append(n) }
        self.order = unique
        self.required = Set(unique)
        self.states = Dictionary(uniqueKeysWithValues: unique.map { ($0, State.loading) })
    }

    /// A registry whose models are already loaded (tests, tools).
    public convenience init(models: [String: any ServableModel]) {
        self.init(names: models.keys.sorted())
        for (name, model) in models { setLoaded(name, model: model, loadSeconds: 0) }
    }

    /// Known model names: configured ones in configuration order, then those loaded later.
    public var names: [String] { lock.withLock { order } }

    /// Serves `model` under `name` from now on (a request already admitted keeps the model it got).
    public func setLoaded(_ name: String, model: any ServableModel, loadSeconds: Double) {
        lock.withLock {
            if states[name] == nil { order.append(name) }
            states[name] = .ready(model, loadSeconds: loadSeconds)
            required.insert(name)
            notes[name] = nil
        }
    }

    public func setFailed(_ name: String, reason: String) {
        lock.withLock {
            if states[name] == nil { order.append(name) }
            states[name] = .failed(reason)
        }
    }

    /// A load of `name` starts: a serving version keeps serving; otherwise the model is loading.
    func beginLoading(_ name: String) {
        lock.withLock {
            if case .ready? = states[name] {
                notes[name] = "reloading"
                return
            }
            if states[name] == nil { order.append(name) }
            states[name] = .loading
        }
    }

    /// A load of `name` failed: true when an earlier version still serves (and keeps serving).
    func loadFailed(_ name: String, reason: String) -> Bool {
        lock.withLock {
            if case .ready? = states[name] {
                notes[name] = "the last load failed, the version loaded before still serves: \(reason)"
                return true
            }
            states[name] = .failed(reason)
            return false
        }
    }

    /// Takes `name` out of service: new requests get 503 until it is loaded again. False when
    /// the name is unknown.
    func setUnloaded(_ name: String) -> Bool {
        lock.withLock {
            guard states[name] != nil else { return false }
            states[name] = .unloaded
            required.remove(name)
            notes[name] = nil
            return true
        }
    }

    /// What the last load left to say about a model that serves, if anything.
    func loadNote(of name: String) -> String? {
        lock.withLock { notes[name] }
    }

    /// From now on the service reports not ready (so load balancers stop sending), while
    /// requests already admitted finish.
    public func beginShutdown() {
        lock.withLock { shuttingDown = true }
    }

    public func state(of name: String) -> State? {
        lock.withLock { states[name] }
    }

    /// Why a model cannot serve a request, as a value the inference pipeline matches on (a
    /// shutdown is a rejection it counts, the rest are plain errors).
    public enum LookupFailure: Error, Sendable, Equatable {
        case shuttingDown
        case unknown(known: [String])
        case wrongVersion(asked: String, served: String)
        case loading
        case failed(reason: String)
        case unloaded

        /// 404 if it is unknown (or the version asked for is not served), 503 if not loaded yet,
        /// failed, unloaded or the server is stopping.
        func requestError(model name: String) -> RequestError {
            switch self {
            case .shuttingDown:
                .unavailable("the server is shutting down")
            case .unknown(let known):
                .notFound("unknown model \"\(name)\"; available: \(known.joined(separator: ", "))")
            case .wrongVersion(let asked, let served):
                .notFound("model \"\(name)\" has no version \"\(asked)\"; it serves version \"\(served)\"")
            case .loading:
                .unavailable("model \"\(name)\" is still loading")
            case .failed(let reason):
                .unavailable("model \"\(name)\" failed to load: \(reason)")
            case .unloaded:
                .unavailable("model \"\(name)\" is unloaded; it serves again once loaded (POST /v2/repository/models/\(name)/load)")
            }
        }
    }

    /// The model to run for a request, serving `version` when one is asked for.
    public func lookup(_ name: String, version: String? = nil) -> Result<any ServableModel, LookupFailure> {
        let (state, down, known) = lock.withLock { (states[name], shuttingDown, order) }
        if down { return .failure(.shuttingDown) }
        switch state {
        case nil: return .failure(.unknown(known: known))
        case .loading: return .failure(.loading)
        case .failed(let reason): return .failure(.failed(reason: reason))
        case .unloaded: return .failure(.unloaded)
        case .ready(let model, _):
            if let version, version != model.info.version {
                return .failure(.wrongVersion(asked: version, served: model.info.version))
            }
            return .success(model)
        }
    }

    /// `lookup` for routes that only answer: the failure as the `RequestError` it becomes.
    public func model(named name: String, version: String? = nil) throws(RequestError) -> any ServableModel {
        switch lookup(name, version: version) {
        case .success(let model): return model
        case .failure(let failure): throw failure.requestError(model: name)
        }
    }

    /// Ready, or the reasons why not.
    public func readiness() -> (ready: Bool, reasons: [String]) {
        lock.withLock {
            var reasons: [String] = []
            if shuttingDown { reasons.append("shutting down") }
            if order.isEmpty { reasons.append("no models configured") }
            for name in order where required.contains(name) {
                switch states[name] {
                case .loading, nil: reasons.append("model \(name) is loading")
                case .failed(let reason): reasons.append("model \(name) failed to load: \(reason)")
                case .ready, .unloaded: break
                }
            }
            return (reasons.isEmpty, reasons)
        }
    }
    /// How loading one model went, for the start-up log.
    public struct LoadReport: Sendable {
        public var name: String
        public var seconds: Double
        /// The loaded model's description, or why it failed.
        public var result: Result<ServedModelInfo, LoadFailure>
    }

    public struct LoadFailure: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    /// Loads every configured model in order with `loader`, recording each outcome and calling
    /// `report` after each (so the log shows progress on slow loads). Returns whether all loaded.
    @discardableResult
    public func loadAll(using loader: (String) throws -> any ServableModel,
                        report: (LoadReport) -> Void = { _ in }) -> Bool {
        var allLoaded = true
        for name in names {
            let start = DispatchTime.now().uptimeNanoseconds
            let outcome = Result { try loader(name) }
            let seconds = Double(DispatchTime.now().uptimeNanoseconds &- start) / 1e9
            switch outcome {
            case .success(let model):
                setLoaded(name, model: model, loadSeconds: seconds)
                report(LoadReport(name: name, seconds: seconds, result: .success(model.info)))
            case .failure(let error):
                allLoaded = false
                setFailed(name, reason: "\(error)")
                report(LoadReport(name: name, seconds: seconds, result: .failure(LoadFailure(description: "\(error)"))))
            }
        }
        return allLoaded
    }
}
