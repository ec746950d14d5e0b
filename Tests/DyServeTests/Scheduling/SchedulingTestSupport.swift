import Dispatch
import DyNN
import Foundation
import Testing
@testable import DyServe

/// `TestModel` that records the batch size of every execution and blocks the first
/// `blockedCalls` executions until `release` is called, so a test decides when work finishes.
final class GatedRecordingModel: ServableModel, @unchecked Sendable {
    private let lock = NSLock()
    private var batches: [Int] = []
    private var blockedCalls: Int
    private let started = DispatchSemaphore(value: 0)
    private let gate = DispatchSemaphore(value: 0)

    init(blockedCalls: Int = 1) {
        self.blockedCalls = blockedCalls
    }

    var info: ServedModelInfo { TestModel().info }

    func infer(_ inputs: [Tensor], options: RunOptions) throws -> InferenceOutcome {
        let block = lock.withLock { () -> Bool in
            batches.append(inputs[0].shape[0])
            guard blockedCalls > 0 else { return false }
            blockedCalls -= 1
            return true
        }
        if block {
            started.signal()
            gate.waitAtGate()
        }
        return try TestModel().infer(inputs, options: options)
    }

    /// Waits until a blocked execution has started; fails the test past the test deadline.
    func waitUntilBlocked(sourceLocation: SourceLocation = #_sourceLocation) {
        started.waitInTest("a blocked execution to start", sourceLocation: sourceLocation)
    }

    /// Lets one blocked execution finish.
    func release() {
        gate.signal()
    }

    var recordedBatches: [Int] { lock.withLock { batches } }
}

/// An `APIHandler` over a `SchedulingExecutor` that shares the handler's metrics, with a clock
/// the test moves by hand (so deadlines never depend on how fast the machine is).
final class SchedulerHarness: @unchecked Sendable {
    let handler: APIHandler
    let context: ServiceContext
    let executor: SchedulingExecutor
    let registry: ModelRegistry
    private let clockBox: ClockBox

    init(model: any ServableModel, settings: SchedulerSettings, executions: Int = 1) {
        registry = ModelRegistry(models: ["test": model])
        let metrics = ServiceMetrics(modelNames: registry.names)
        let box = ClockBox()
        executor = SchedulingExecutor(settings: settings, budget: ComputeBudget(cores: executions, intraOpThreads: 1),
                                      metrics: metrics, sweepInterval: nil, now: { box.read() })
        context = ServiceContext(registry: registry, executor: executor, traces: TraceStore(limits: TraceStoreLimits()),
                                 metrics: metrics, limits: APILimits())
        handler = APIHandler(context: context)
        clockBox = box
    }

    /// Moves the scheduler's clock forward.
    func advance(milliseconds: UInt64) {
        clockBox.advance(milliseconds * 1_000_000)
    }

    /// Sends `/infer` with the given body and headers; the answer arrives in the returned box.
    @discardableResult
    func send(_ json: String, headers: [String: String] = [:], context: RequestContext = RequestContext()) -> ResponseBox {
        let box = ResponseBox()
        var all = ["content-type": "application/json"]
        for (k, v) in headers { all[k] = v }
        handler.handle(HTTPRequest(method: "POST", path: "/infer", headers: all, body: Array(json.utf8),
                                   context: context)) { box.put($0) }
        return box
    }

    /// Waits until `count` requests are queued: requests are decoded on another thread, so they
    /// reach the queue a little after `send` returns. Fails the test past the test deadline.
    func waitUntilQueued(_ count: Int, sourceLocation: SourceLocation = #_sourceLocation) {
        waitUntil("\(count) requests are queued", sourceLocation: sourceLocation) { executor.queued >= count }
    }

    var metricsText: String {
        String(decoding: context.metrics.render(store: nil, ready: true), as: UTF8.self)
    }

    func rejections(_ reason: String) -> String {
        #"dyserve_rejections_total{model="test",reason="\#(reason)"}"#
    }
}

final class ClockBox: @unchecked Sendable {
    private let lock = NSLock()
    private var value: UInt64 = 1_000_000_000
    func read() -> UInt64 { lock.withLock { value } }
    func advance(_ ns: UInt64) { lock.withLock { value += ns } }
}

/// A JSON `/infer` body for the test model, one sample per row of four numbers.
func inferBody(_ samples: [[Float]], temperature: Float? = nil, returnTrace: Bool = false) -> String {
    let rows = samples.map { s in "[[[\(s[0]), \(s[1])], [\(s[2]), \(s[3])]]]" }.joined(separator: ", ")
    var body = #"{"model": "test", "input": [\#(rows)]"#
    if let temperature { body += #", "temperature": \#(temperature)"# }
    if returnTrace { body += #", "return_trace": true"# }
    return body + "}"
}

extension HTTPResponse {
    /// The `outputs[0].data` numbers of an `/infer` answer.
    var firstOutput: [Float] {
        guard let outputs = json["outputs"] as? [[String: Any]], let data = outputs.first?["data"] as? [Any] else { return [] }
        return data.compactMap { ($0 as? NSNumber)?.floatValue }
    }
}
