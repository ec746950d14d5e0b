import DyNN
import Foundation
import Testing
@testable import DyServe

/// Shutdown during a burst: everything accepted is answered with its result, the rest get 503.
@Suite struct GracefulShutdownTests {
    @Test(arguments: [1, 8])
    func shutdownDuringABurstAnswersEveryAcceptedRequest(maxBatchSize: Int) {
        let model = GatedRecordingModel()
        let h = SchedulerHarness(model: model, settings: SchedulerSettings(maxBatchSize: maxBatchSize,
                                                                          maxQueueDelayMicroseconds: 100_000,
                                                                          maxQueueSize: 64))
        let running = h.send(inferBody([[0, 0, 0, 0]]))
        model.waitUntilBlocked()
        var accepted: [ResponseBox] = [running]
        for i in 0..<40 {
            accepted.append(h.send(inferBody([[Float(i), 1, 0, 0]])))
            h.waitUntilQueued(i + 1)
        }

        h.executor.beginShutdown()
        let late = h.send(inferBody([[5, 5, 5, 5]])).wait()
        #expect(late.status == 503)
        #expect(late.header("Retry-After") == "1")
        #expect(h.metricsText.contains(h.rejections("shutdown") + " 1"))

        model.release()
        // The long queue delay is not waited for once stopping: draining ends on its own.
        #expect(h.executor.waitUntilDrained(timeout: .seconds(60)))
        var answered = 0
        for (i, box) in accepted.enumerated() {
            let response = box.wait()
            #expect(response.status == 200)
            if i > 0 {
                let expected = TestModel.softmax([Float(i - 1) + 1, 0, 0])
                #expect(response.firstOutput == expected)
            }
            answered += 1
        }
        #expect(answered == 41)
        #expect(model.recordedBatches.reduce(0, +) == 41)
    }

    @Test func registryShutdownRefusesNewRequestsCountedAsShutdown() {
        let h = SchedulerHarness(model: TestModel(), settings: SchedulerSettings())
        h.registry.beginShutdown()
        let refused = h.send(inferBody([[1, 0, 0, 0]])).wait()
        #expect(refused.status == 503)
        #expect(refused.header("Retry-After") == "1")
        #expect(h.metricsText.contains(h.rejections("shutdown") + " 1"))
        #expect(h.handler.context.registry.readiness().ready == false)
    }

    @Test func abandoningAfterTheTimeLimitStillAnswersEveryone() {
        let model = GatedRecordingModel()
        let h = SchedulerHarness(model: model, settings: SchedulerSettings(maxBatchSize: 1))
        let running = h.send(inferBody([[0, 0, 0, 0]]))
        model.waitUntilBlocked()
        let queued = (0..<5).map { i in
            defer { h.waitUntilQueued(i + 1) }
            return h.send(inferBody([[Float(i), 0, 0, 0]]))
        }
        h.executor.beginShutdown()
        #expect(h.executor.waitUntilDrained(timeout: .milliseconds(1)) == false)  // still blocked
        #expect(h.executor.abandonQueued() == 5)
        for box in queued { #expect(box.wait().status == 503) }
        model.release()
        #expect(running.wait().status == 200)
    }
}
