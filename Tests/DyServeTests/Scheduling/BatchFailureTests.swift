import Dispatch
import DyNN
import Foundation
import Testing
@testable import DyServe

/// The test model, except that its first execution waits for `release`, and then either every
/// execution of more than one sample fails the way a broken engine would, or (`refusing`) every
/// execution holding a sample that starts with 7 is refused as bad input.
final class FailingBatchModel: ServableModel, @unchecked Sendable {
    struct EngineFailure: Error, CustomStringConvertible {
        var description: String { "the fast path's primitive failed" }
    }

    private let lock = NSLock()
    private var batches: [Int] = []
    private var first = true
    private let started = DispatchSemaphore(value: 0)
    private let gate = DispatchSemaphore(value: 0)
    private let refusing: Bool

    init(refusing: Bool = false) {
        self.refusing = refusing
    }

    var info: ServedModelInfo { TestModel().info }

    func infer(_ inputs: [Tensor], options: RunOptions) throws -> InferenceOutcome {
        let (samples, block) = lock.withLock { () -> (Int, Bool) in
            batches.append(inputs[0].shape[0])
            defer { first = false }
            return (inputs[0].shape[0], first)
        }
        if block {
            started.signal()
            gate.wait()
        }
        if refusing {
            let firsts = stride(from: 0, to: inputs[0].data.count, by: 4).map { inputs[0].data[$0] }
            if firsts.contains(7) { throw RequestError.badRequest("a sample starting with 7 is refused") }
        } else if samples > 1 {
            throw EngineFailure()
        }
        return try TestModel().infer(inputs, options: options)
    }

    /// Waits (a hang guard, not a timing assertion) until the first execution is blocked.
    func waitUntilBlocked() -> Bool { started.wait(timeout: .now() + 30) == .success }

    func release() { gate.signal() }

    var recordedBatches: [Int] { lock.withLock { batches } }
}

@Suite struct BatchFailureTests {
    /// Three requests (two on /infer, one on V2) batched into one execution that fails: each is
    /// answered 500 with the engine's error, the batch runs once (not again request by request),
    /// and the next request is served.
    @Test func aFailedBatchAnswersEveryMemberWith500AndTheServiceStaysUp() throws {
        let model = FailingBatchModel()
        let h = SchedulerHarness(model: model, settings: SchedulerSettings(maxBatchSize: 3, maxQueueDelayMicroseconds: 100_000))
        let running = h.send(InferenceAPI.simple.request(9))
        try #require(model.waitUntilBlocked())
        let members = [h.send(InferenceAPI.simple.request(1)), h.send(InferenceAPI.v2.request(2)),
                       h.send(InferenceAPI.simple.request(3))]
        try #require(Self.wait(until: { h.executor.queued == 3 }))
        model.release()

        #expect(running.wait().status == 200)
        for member in members {
            let r = member.wait()
            #expect(r.status == 500)
            #expect(r.header("Content-Type") == "application/json")
            #expect(r.errorMessage == "inference failed: the fast path's primitive failed")
        }
        #expect(model.recordedBatches == [1, 3])
        #expect(h.metricsText.contains(#"dyserve_requests_total{model="test",code="500"} 3"#))
        #expect(h.context.statistics.snapshot(model: "test").fail.count == 3)

        #expect(h.send(InferenceAPI.v2.request(4)).wait().status == 200)
        #expect(h.context.registry.readiness().ready)
    }

    /// An input the model refuses inside a batch belongs to one request: only that one gets the
    /// 400, its batch-mates are computed on their own.
    @Test func aRefusedInputInABatchFailsOnlyItsOwnRequest() throws {
        let model = FailingBatchModel(refusing: true)
        let h = SchedulerHarness(model: model, settings: SchedulerSettings(maxBatchSize: 3, maxQueueDelayMicroseconds: 100_000))
        let running = h.send(InferenceAPI.simple.request(9))
        try #require(model.waitUntilBlocked())
        let members = [h.send(InferenceAPI.simple.request(1)), h.send(InferenceAPI.v2.request(7)),
                       h.send(InferenceAPI.simple.request(3))]
        try #require(Self.wait(until: { h.executor.queued == 3 }))
        model.release()

        #expect(running.wait().status == 200)
        #expect(members.map { $0.wait().status } == [200, 400, 200])
        #expect(model.recordedBatches == [1, 3, 1, 1, 1])
    }

    private static func wait(until condition: () -> Bool) -> Bool {
        let deadline = Date(timeIntervalSinceNow: 30)
        while !condition() {
            if Date() > deadline { return false }
            usleep(500)
        }
        return true
    }
}

extension SchedulerHarness {
    /// Sends `request` through the handler; the answer arrives in the returned box.
    func send(_ request: HTTPRequest) -> ResponseBox {
        let box = ResponseBox()
        handler.handle(request) { box.put($0) }
        return box
    }
}
