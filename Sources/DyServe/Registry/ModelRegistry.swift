import Foundation

/// The configured models and their load state; decides readiness.
///
/// Ready means every configured model loaded and no shutdown has begun. A model that failed to
/// load keeps the service unready (and its error is what `/readyz` reports), because serving a
/// subset of the configuration silently is worse than saying so.
public final class ModelRegistry: @unchecked Sendable {
    public enum State: Sendable {
        case loading
        case ready(any ServableModel, loadSeconds: Double)
        case failed(String)
    }

    private let lock = NSLock()
    /// Configured names, in configuration order.
    public let names: [String]
    private var states: [String: State]
    private var shuttingDown = false

    public init(names: [String]) {
        var unique: [String] = []
        for n in names where !unique.contains(n) { unique.append(n) }
        self.names = unique
        self.states = Dictionary(uniqueKeysWithValues: unique.map { ($0, State.loading) })
    }

    /// A registry whose models are already loaded (tests, tools).
    public convenience init(models: [String: any ServableModel]) {
        self.init(names: models.keys.sorted())
        for (name, model) in models { setLoaded(name, model: model, loadSeconds: 0) }
    }

    public func setLoaded(_ name: String, model: any ServableModel, loadSeconds: Double) {
        lock.withLock { states[name] = .ready(model, loadSeconds: loadSeconds) }
    }

    public func setFailed(_ name: String, reason: String) {
        lock.withLock { states[name] = .failed(reason) }
    }

    /// From now on the service reports not ready (so load balancers stop sending), while
    /// requests already admitted finish.
    public func beginShutdown() {
        lock.withLock { shuttingDown = true }
    }

    public func state(of name: String) -> State? {
        lock.withLock { states[name] }
    }

    /// The model to run for a request: 404 if it is not configured, 503 if not loaded yet or failed.
    public func model(named name: String) throws(RequestError) -> any ServableModel {
        let (state, down) = lock.withLock { (states[name], shuttingDown) }
        if down { throw .unavailable("the server is shutting down") }
        switch state {
        case nil:
            throw .notFound("unknown model \"\(name)\"; available: \(names.joined(separator: ", "))")
        case .loading:
            throw .unavailable("model \"\(name)\" is still loading")
        case .failed(let reason):
            throw .unavailable("model \"\(name)\" failed to load: \(reason)")
        case .ready(let model, _):
            return model
        }
    }

    /// Ready, or the reasons why not.
    public func readiness() -> (ready: Bool, reasons: [String]) {
        lock.withLock {
            var reasons: [String] = []
            if shuttingDown { reasons.append("shutting down") }
            if names.isEmpty { reasons.append("no models configured") }
            for name in names {
                switch states[name] {
                case .loading, nil: reasons.append("model \(name) is loading")
                case .failed(let reason): reasons.append("model \(name) failed to load: \(reason)")
                case .ready: break
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
