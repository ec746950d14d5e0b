import DyNN
import Foundation
import Testing
@testable import DyServe

/// A full queue answers at once, with Retry-After, and nothing already queued is lost.
@Suite struct SchedulerOverloadTests {
    @Test(arguments: [503, 429])
    func aFullQueueAnswersAtOnceWithRetryAfter(status: Int) {
        let model = GatedRecordingModel()
        let h = SchedulerHarness(model: model, settings: SchedulerSettings(maxBatchSize: 1, maxQueueSize: 2,
                                                                          overloadStatus: status))
        let running = h.send(inferBody([[1, 0, 0, 0]]))
        model.waitUntilBlocked()
        let queued = [h.send(inferBody([[2, 0, 0, 0]])), h.send(inferBody([[3, 0, 0, 0]]))]
        h.waitUntilQueued(2)

        // The worker is still blocked: this answer can only come from the full queue.
        let refused = h.send(inferBody([[4, 0, 0, 0]])).wait()
        #expect(refused.status == status)
        #expect(refused.header("Retry-After") == "1")
        #expect(refused.errorMessage.contains("max_queue_size"))
        #expect(refused.header("X-Request-Id") != nil)
        #expect(h.metricsText.contains(h.rejections("queue_full") + " 1"))

        model.release()
        #expect(running.wait().status == 200)
        for box in queued { #expect(box.wait().status == 200) }
        #expect(model.recordedBatches == [1, 1, 1])
        #expect(h.metricsText.contains(#"dyserve_requests_total{model="test",code="\#(status)"} 1"#))
    }
}

/// The V2 route goes through the same scheduler and answers a full queue the same way.
@Suite struct SchedulerV2Tests {
    @Test func v2RequestsShareTheQueueAndGet503WithRetryAfter() {
        let model = GatedRecordingModel()
        let h = SchedulerHarness(model: model, settings: SchedulerSettings(maxBatchSize: 8, maxQueueDelayMicroseconds: 0,
                                                                          maxQueueSize: 1))
        let v2Body = #"{"inputs": [{"name": "input", "shape": [1, 1, 2, 2], "datatype": "FP32", "data": [1, 0, 0, 0]}]}"#
        func v2() -> ResponseBox {
            let box = ResponseBox()
            h.handler.handle(HTTPRequest(method: "POST", path: "/v2/models/test/infer",
                                         headers: ["content-type": "application/json"], body: Array(v2Body.utf8))) { box.put($0) }
            return box
        }
        let running = v2()
        model.waitUntilBlocked()
        let queued = h.send(inferBody([[0, 1, 0, 0]]))
        h.waitUntilQueued(1)
        let refused = v2().wait()
        #expect(refused.status == 503)
        #expect(refused.header("Retry-After") == "1")
        model.release()
        #expect(running.wait().status == 200)
        #expect(queued.wait().status == 200)
        #expect(h.metricsText.contains(h.rejections("queue_full") + " 1"))
    }
}
