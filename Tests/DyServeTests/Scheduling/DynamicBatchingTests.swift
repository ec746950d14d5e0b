import DyNN
import Foundation
import Testing
@testable import DyServe

/// Concurrent compatible requests run as one execution and each caller gets exactly its own rows.
@Suite struct DynamicBatchingTests {
    @Test func queuedRequestsAreMergedAndSplitBackPerRequest() {
        let model = GatedRecordingModel()
        let h = SchedulerHarness(model: model, settings: SchedulerSettings(maxBatchSize: 8, maxQueueDelayMicroseconds: 0))
        let first = h.send(inferBody([[9, 9, 0, 0]]))
        model.waitUntilBlocked()

        // Queued in this order while the only worker is busy. The temperature-2 request must not
        // join the others' batch; the rest (2 + 1 + 1 + 1 samples) fit in one.
        let samples: [[[Float]]] = [[[1, 0, 0, 0], [0, 0, 2, 0]], [[0, 3, 0, 0]], [[0, 0, 0, 4]], [[5, 0, 0, 5]]]
        var boxes: [ResponseBox] = []
        var hotter: ResponseBox?
        for (i, s) in samples.enumerated() {
            boxes.append(h.send(inferBody(s, returnTrace: true)))
            // Wait until this one is queued too (counting the temperature-2 request after the first),
            // so that the queue order is the one written here.
            h.waitUntilQueued(i == 0 ? 1 : i + 2)
            if i == 0 {
                hotter = h.send(inferBody([[7, 0, 0, 0]], temperature: 2, returnTrace: true))
                h.waitUntilQueued(2)
            }
        }
        model.release()
        #expect(first.wait().status == 200)
        for (box, s) in zip(boxes, samples) {
            let response = box.wait()
            #expect(response.status == 200)
            // Exactly its own samples, computed as if it had run alone.
            let alone = try? TestModel().infer([Tensor(shape: [s.count, 1, 2, 2], data: s.flatMap { $0 })],
                                               options: RunOptions(trace: .attention))
            #expect(response.firstOutput == alone?.outputs[0].data)
            let trace = response.json["trace"] as? [String: Any]
            #expect(trace?["batch"] as? Int == s.count)
            let layers = trace?["layers"] as? [[String: Any]]
            let pi = (layers?.first?["attention"] as? [String: Any])?["pi"] as? [[Any]]
            #expect(pi?.count == s.count)
            let piFirst = pi?.first?.compactMap { ($0 as? NSNumber)?.floatValue }
            #expect(piFirst == alone?.trace.first?.attention?.pi.first)
        }
        // Answered only after its execution, which runs last: without this wait the check below raced it.
        #expect(hotter?.wait().status == 200)
        // First request alone, then the four compatible ones (5 samples), then the temperature-2 one.
        #expect(model.recordedBatches == [1, 5, 1])
        let text = h.metricsText
        #expect(text.contains(#"dyserve_batch_size_count{model="test"} 3"#))
        #expect(text.contains(#"dyserve_batch_size_sum{model="test"} 7"#))
    }

    @Test func differentTraceLevelsAreNotMerged() {
        let model = GatedRecordingModel()
        let h = SchedulerHarness(model: model, settings: SchedulerSettings(maxBatchSize: 8, maxQueueDelayMicroseconds: 0))
        let first = h.send(inferBody([[1, 1, 1, 1]]))
        model.waitUntilBlocked()
        let a = h.send(#"{"model": "test", "input": [[[[1, 0], [0, 0]]]], "trace": "full", "return_trace": true}"#)
        h.waitUntilQueued(1)
        let b = h.send(#"{"model": "test", "input": [[[[0, 0], [0, 1]]]], "trace": "none"}"#)
        h.waitUntilQueued(2)
        let c = h.send(#"{"model": "test", "input": [[[[0, 2], [0, 0]]]], "trace": "full", "return_trace": true}"#)
        h.waitUntilQueued(3)
        model.release()
        let answers = [first, a, b, c].map { $0.wait() }
        for response in answers { #expect(response.status == 200) }
        // The two "full" requests share one execution; the "none" one runs on its own.
        #expect(model.recordedBatches == [1, 2, 1])
        let layers = (answers[1].json["trace"] as? [String: Any])?["layers"] as? [[String: Any]]
        let spatial = layers?.compactMap { ($0["activation"] as? [String: Any])?["spatial"] as? [[Any]] }.first
        #expect(spatial?.count == 1)
    }

    @Test func maxBatchSizeOneRunsEveryRequestAlone() {
        let model = GatedRecordingModel()
        let h = SchedulerHarness(model: model, settings: SchedulerSettings(maxBatchSize: 1))
        let first = h.send(inferBody([[1, 1, 1, 1]]))
        model.waitUntilBlocked()
        let rest = (0..<3).map { i in
            defer { h.waitUntilQueued(i + 1) }
            return h.send(inferBody([[Float(i), 0, 0, 0]]))
        }
        model.release()
        for box in [first] + rest { #expect(box.wait().status == 200) }
        #expect(model.recordedBatches == [1, 1, 1, 1])
    }

    @Test func aBatchLargerThanTheLimitRunsAloneAndTheLimitIsRespected() {
        let model = GatedRecordingModel()
        let h = SchedulerHarness(model: model, settings: SchedulerSettings(maxBatchSize: 2, maxQueueDelayMicroseconds: 0))
        let first = h.send(inferBody([[1, 1, 1, 1]]))
        model.waitUntilBlocked()
        let big = h.send(inferBody([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]]))
        h.waitUntilQueued(1)
        let small = (0..<3).map { i in
            defer { h.waitUntilQueued(i + 2) }
            return h.send(inferBody([[Float(i), 0, 0, 0]]))
        }
        model.release()
        for box in [first, big] + small { #expect(box.wait().status == 200) }
        #expect(model.recordedBatches == [1, 3, 2, 1])
    }
}
