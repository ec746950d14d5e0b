import DyNN
import Foundation
import Testing
@testable import DyServe

/// Triton-style `/v2/models/{m}/stats` under dynamic batching: `inference_count` counts samples,
/// `execution_count` and `batch_stats` count executions, and the request-level durations count
/// requests. The scheduler's clock is moved by hand, so every duration is exact.
@Suite struct BatchedStatisticsTests {
    private static let ms: UInt64 = 1_000_000

    private func stats(_ h: SchedulerHarness) throws -> [String: Any] {
        let box = ResponseBox()
        h.handler.handle(HTTPRequest(method: "GET", path: "/v2/models/test/stats")) { box.put($0) }
        let response = box.wait()
        #expect(response.status == 200)
        return try #require((response.json["model_stats"] as? [[String: Any]])?.first)
    }

    private func duration(_ model: [String: Any], _ key: String) -> (count: Int?, ns: Int?) {
        let d = (model["inference_stats"] as? [String: Any])?[key] as? [String: Any]
        return (d?["count"] as? Int, d?["ns"] as? Int)
    }

    /// [batch_size: (count, ns)]
    private func batchStats(_ model: [String: Any]) -> [Int: [Int]] {
        var result: [Int: [Int]] = [:]
        for entry in model["batch_stats"] as? [[String: Any]] ?? [] {
            guard let size = entry["batch_size"] as? Int, let c = entry["compute_infer"] as? [String: Any],
                  let count = c["count"] as? Int, let ns = c["ns"] as? Int else { continue }
            result[size] = [count, ns]
        }
        return result
    }

    @Test func oneBatchedExecutionOfFourRequestsCountsOnce() throws {
        let model = GatedRecordingModel()
        let h = SchedulerHarness(model: model, settings: SchedulerSettings(maxBatchSize: 8, maxQueueDelayMicroseconds: 0))
        let first = h.send(inferBody([[1, 0, 0, 0]]))
        model.waitUntilBlocked()
        // Four requests (2 + 1 + 1 + 1 samples) queue behind the running one...
        let samples: [[[Float]]] = [[[1, 0, 0, 0], [0, 0, 2, 0]], [[0, 3, 0, 0]], [[0, 0, 0, 4]], [[5, 0, 0, 5]]]
        var boxes: [ResponseBox] = []
        for (i, s) in samples.enumerated() {
            boxes.append(h.send(inferBody(s)))
            h.waitUntilQueued(i + 1)
        }
        // ...for 3 ms, which is also the first execution's compute time; the second execution
        // takes no time on the stopped clock.
        h.advance(milliseconds: 3)
        model.release()
        #expect(first.wait().status == 200)
        for box in boxes { #expect(box.wait().status == 200) }
        #expect(model.recordedBatches == [1, 5])

        let m = try stats(h)
        #expect(m["inference_count"] as? Int == 6)   // samples
        #expect(m["execution_count"] as? Int == 2)   // executions: [1] and [2+1+1+1]
        #expect(duration(m, "success").count == 5)   // requests
        #expect(duration(m, "fail").count == 0)
        #expect(duration(m, "queue").count == 5)
        #expect(duration(m, "queue").ns == Int(4 * 3 * Self.ms))      // each batched request waited 3 ms
        #expect(duration(m, "compute_infer").count == 5)
        #expect(duration(m, "compute_infer").ns == Int(3 * Self.ms))  // 3 ms + 4 x 0
        #expect(batchStats(m) == [1: [1, Int(3 * Self.ms)], 5: [1, 0]])
        // Every field of Triton's model_stats is there: merging and splitting take no time on the
        // stopped clock, and there is no response cache.
        for key in ["compute_input", "compute_output"] {
            #expect(duration(m, key).count == 5 && duration(m, key).ns == 0, "\(key)")
        }
        for key in ["cache_hit", "cache_miss"] {
            #expect(duration(m, key).count == 0 && duration(m, key).ns == 0, "\(key)")
        }
        for entry in m["batch_stats"] as? [[String: Any]] ?? [] {
            for key in ["compute_input", "compute_infer", "compute_output"] {
                #expect((entry[key] as? [String: Any])?["count"] as? Int == 1, "\(key)")
            }
        }
        #expect((m["memory_usage"] as? [Any])?.isEmpty == true)

        // The Prometheus metrics tell the same story.
        let text = h.metricsText
        #expect(text.contains(#"dyserve_batch_size_count{model="test"} 2"#))
        #expect(text.contains(#"dyserve_batch_size_sum{model="test"} 6"#))
        #expect(text.contains(#"dyserve_inferences_total{model="test"} 6"#))
    }

    @Test func unbatchedRequestsAreOneExecutionEach() throws {
        let model = GatedRecordingModel()
        let h = SchedulerHarness(model: model, settings: SchedulerSettings(maxBatchSize: 1))
        let first = h.send(inferBody([[1, 0, 0, 0], [0, 1, 0, 0]]))
        model.waitUntilBlocked()
        let rest = (0..<3).map { i in
            defer { h.waitUntilQueued(i + 1) }
            return h.send(inferBody([[Float(i), 0, 0, 0]]))
        }
        model.release()
        for box in [first] + rest { #expect(box.wait().status == 200) }
        let m = try stats(h)
        #expect(m["inference_count"] as? Int == 5)
        #expect(m["execution_count"] as? Int == 4)
        #expect(duration(m, "success").count == 4)
        #expect(batchStats(m).mapValues { $0[0] } == [1: 3, 2: 1])
    }

    @Test func anExecutionWhoseAnswersCameTooLateStillCounts() throws {
        let model = GatedRecordingModel()
        let h = SchedulerHarness(model: model, settings: SchedulerSettings(maxBatchSize: 8, maxQueueDelayMicroseconds: 0,
                                                                           timeoutMilliseconds: 10))
        let late = h.send(inferBody([[1, 0, 0, 0]]))
        model.waitUntilBlocked()
        h.advance(milliseconds: 20)  // past its deadline while it computes
        model.release()
        #expect(late.wait().status == 504)
        let m = try stats(h)
        #expect(m["inference_count"] as? Int == 0)
        #expect(m["execution_count"] as? Int == 1)
        #expect(duration(m, "success").count == 0)
        #expect(duration(m, "fail").count == 1)
        #expect(batchStats(m) == [1: [1, Int(20 * Self.ms)]])
    }
}
