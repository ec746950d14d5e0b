import DyNN
import Foundation
import Testing
@testable import DyServe

/// Deadlines measured on a clock the test moves, and clients that leave while queued.
@Suite struct DeadlineAndCancellationTests {
    @Test func aDeadlineExpiresInTheQueue() {
        let model = GatedRecordingModel()
        let h = SchedulerHarness(model: model, settings: SchedulerSettings(maxBatchSize: 1, timeoutMilliseconds: 30_000))
        let running = h.send(inferBody([[1, 0, 0, 0]]))
        model.waitUntilBlocked()
        let short = h.send(inferBody([[2, 0, 0, 0]]), headers: ["x-request-timeout-ms": "5"])
        h.waitUntilQueued(1)
        let patient = h.send(inferBody([[3, 0, 0, 0]]))
        h.waitUntilQueued(2)

        h.advance(milliseconds: 10)
        h.executor.expireOverdue()
        let expired = short.wait()  // answered while the worker is still blocked
        #expect(expired.status == 503)
        #expect(expired.header("Retry-After") == "1")
        #expect(expired.errorMessage.contains("deadline"))
        #expect(h.metricsText.contains(h.rejections("timeout") + " 1"))

        model.release()
        #expect(running.wait().status == 200)
        #expect(patient.wait().status == 200)
        #expect(model.recordedBatches == [1, 1])  // the expired request never ran
    }

    @Test func theConfiguredTimeoutAppliesWithoutAPerRequestOne() {
        let model = GatedRecordingModel()
        let h = SchedulerHarness(model: model, settings: SchedulerSettings(maxBatchSize: 1, timeoutMilliseconds: 50))
        let running = h.send(inferBody([[1, 0, 0, 0]]))
        model.waitUntilBlocked()
        let queued = h.send(inferBody([[2, 0, 0, 0]]), headers: ["x-request-timeout-ms": "60000"])  // cannot extend
        h.waitUntilQueued(1)
        h.advance(milliseconds: 51)
        h.executor.expireOverdue()
        #expect(queued.wait().status == 503)
        model.release()
        // The running one passed its 50 ms deadline while it computed: 504, no Retry-After.
        let late = running.wait()
        #expect(late.status == 504)
        #expect(late.header("Retry-After") == nil)
        #expect(h.metricsText.contains(h.rejections("timeout") + " 2"))
    }

    @Test func theTimeoutQueryParameterWorksWithJSONBodies() {
        let model = GatedRecordingModel()
        let h = SchedulerHarness(model: model, settings: SchedulerSettings(maxBatchSize: 1))
        let running = h.send(inferBody([[1, 0, 0, 0]]))
        model.waitUntilBlocked()
        let box = ResponseBox()
        h.handler.handle(HTTPRequest(method: "POST", path: "/infer", query: ["timeout": "3"],
                                     headers: ["content-type": "application/json"],
                                     body: Array(inferBody([[2, 0, 0, 0]]).utf8))) { box.put($0) }
        h.waitUntilQueued(1)
        h.advance(milliseconds: 4)
        h.executor.expireOverdue()
        #expect(box.wait().status == 503)
        model.release()
        #expect(running.wait().status == 200)
    }

    @Test(arguments: ["0", "-5", "abc", "1e3", "", " ", "99999999999999999999", "86400001", "5.5"])
    func malformedTimeoutsAreBadRequests(value: String) {
        let h = SchedulerHarness(model: TestModel(), settings: SchedulerSettings(maxBatchSize: 1))
        let header = h.send(inferBody([[1, 0, 0, 0]]), headers: ["x-request-timeout-ms": value]).wait()
        #expect(header.status == 400)
        #expect(header.errorMessage.contains("X-Request-Timeout-Ms"))
        let box = ResponseBox()
        h.handler.handle(HTTPRequest(method: "POST", path: "/infer", query: ["timeout": value],
                                     headers: ["content-type": "application/json"],
                                     body: Array(inferBody([[2, 0, 0, 0]]).utf8))) { box.put($0) }
        #expect(box.wait().status == 400)
    }

    @Test func aClientGoneWhileQueuedIsDroppedWithoutRunning() {
        let model = GatedRecordingModel()
        let h = SchedulerHarness(model: model, settings: SchedulerSettings(maxBatchSize: 8, maxQueueDelayMicroseconds: 0))
        let running = h.send(inferBody([[1, 0, 0, 0]]))
        model.waitUntilBlocked()
        let leaving = RequestContext()
        let gone = h.send(inferBody([[2, 0, 0, 0]]), context: leaving)
        h.waitUntilQueued(1)
        let staying = h.send(inferBody([[3, 0, 0, 0]]))
        h.waitUntilQueued(2)

        leaving.cancel()
        // Answered (and dropped) while the worker is still blocked.
        #expect(gone.wait().status == 499)
        #expect(h.executor.queued == 1)
        #expect(h.metricsText.contains(h.rejections("client_gone") + " 1"))

        model.release()
        #expect(running.wait().status == 200)
        #expect(staying.wait().status == 200)
        #expect(model.recordedBatches == [1, 1])  // the gone request's sample never ran
    }
}
