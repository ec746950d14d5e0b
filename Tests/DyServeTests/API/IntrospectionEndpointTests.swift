import DyNN
import Foundation
import Testing
@testable import DyServe

@Suite struct IntrospectionEndpointTests {
    @Test func attentionByIdAndListing() throws {
        let api = APIHarness()
        let first = api.post(#"{"model": "test", "input": [[[[3, 0], [0, 0]]]]}"#)
        let second = api.post(#"{"model": "test", "input": [[[[0, 0], [3, 0]]]], "trace": "full"}"#)
        let firstID = try #require(first.header("X-Request-Id"))
        let secondID = try #require(second.header("X-Request-Id"))

        let trace = api.get("/attention", query: ["id": firstID])
        #expect(trace.status == 200)
        #expect(trace.json["model"] as? String == "test")
        #expect(trace.json["trace"] as? String == "attention")
        #expect(trace.json["temperature"] is NSNull)
        #expect(trace.json["model_temperature"] as? Double == 1)
        let layers = try #require(trace.json["layers"] as? [[String: Any]])
        #expect(layers.count == 2)
        #expect(layers[0]["attention"] != nil)
        #expect(layers[1]["activation"] == nil)  // DY-ReLU coefficients only with "full"
        let full = api.get("/attention", query: ["id": secondID])
        #expect(((full.json["layers"] as? [[String: Any]])?[1]["activation"]) != nil)
        // The input comes back only at "full", for the explorer page to draw.
        #expect(trace.json["input"] == nil)
        let input = try #require(full.json["input"] as? [String: Any])
        #expect(input["shape"] as? [Int] == [1, 1, 2, 2])
        #expect(input["data"] as? [Double] == [0, 0, 3, 0])

        let list = api.get("/attention")
        let requests = try #require(list.json["requests"] as? [[String: Any]])
        #expect(requests.map { $0["id"] as? String } == [secondID, firstID])
        #expect((requests[0]["top_class"] as? [String: Any])?["label"] as? String == "right")
        #expect((requests[1]["top_class"] as? [String: Any])?["label"] as? String == "left")
        #expect((requests[0]["time"] as? String)?.hasSuffix("Z") == true)
        let limited = api.get("/attention", query: ["limit": "1"])
        #expect((limited.json["requests"] as? [Any])?.count == 1)
    }

    @Test func attentionErrors() {
        let api = APIHarness()
        #expect(api.get("/attention", query: ["id": "nope"]).status == 404)
        #expect(api.get("/attention", query: ["limit": "0"]).status == 400)
        #expect(api.get("/attention", query: ["limit": "x"]).status == 400)
        #expect(api.get("/attention", query: ["idd": "1"]).status == 400)
        // trace "none" records nothing.
        let r = api.post(#"{"model": "test", "input": [[[[0, 0], [0, 0]]]], "trace": "none"}"#)
        #expect(api.get("/attention", query: ["id": r.header("X-Request-Id") ?? ""]).status == 404)
    }

    @Test func evictedTracesAre404() throws {
        let api = APIHarness(store: TraceStoreLimits(maxEntries: 2, maxBytes: 1 << 20))
        let ids = (0..<3).map { _ in api.post(#"{"model": "test", "input": [[[[0, 0], [0, 0]]]]}"#).header("X-Request-Id") ?? "" }
        #expect(api.get("/attention", query: ["id": ids[0]]).status == 404)
        #expect(api.get("/attention", query: ["id": ids[2]]).status == 200)
    }

    @Test func healthReadinessAndShutdown() {
        let registry = ModelRegistry(names: ["test", "other"])
        let api = APIHarness(registry: registry)
        #expect(api.get("/healthz").status == 200)
        let notReady = api.get("/readyz")
        #expect(notReady.status == 503)
        #expect(notReady.errorMessage.contains("model test is loading"))
        #expect(api.post(#"{"model": "test", "input": [[[[0, 0], [0, 0]]]]}"#).status == 503)
        registry.setLoaded("test", model: TestModel(), loadSeconds: 0.5)
        registry.setFailed("other", reason: "no such directory")
        #expect(api.get("/readyz").errorMessage.contains("model other failed to load: no such directory"))
        registry.setLoaded("other", model: TestModel(name: "other"), loadSeconds: 0.5)
        #expect(api.get("/readyz").status == 200)
        registry.beginShutdown()
        #expect(api.get("/readyz").status == 503)
        #expect(api.get("/healthz").status == 200)
    }

    @Test func modelsDescribesEachModel() throws {
        let registry = ModelRegistry(names: ["test", "later"])
        registry.setLoaded("test", model: TestModel(), loadSeconds: 0.25)
        let api = APIHarness(registry: registry)
        let models = try #require(api.get("/models").json["models"] as? [[String: Any]])
        #expect(models.count == 2)
        #expect(models[0]["name"] as? String == "test")
        #expect(models[0]["state"] as? String == "ready")
        #expect(models[0]["multiply_adds"] as? Int == 4)
        #expect(models[0]["labels"] as? [String] == ["left", "right", "none"])
        let inputs = try #require(models[0]["inputs"] as? [[String: Any]])
        #expect(inputs[0]["shape"] as? [Int] == [-1, 1, 2, 2])
        #expect(models[1]["state"] as? String == "loading")
    }

    @Test func unknownPathAndWrongMethodAreJSONErrors() {
        let api = APIHarness()
        let missing = api.get("/nope")
        #expect(missing.status == 404)
        #expect(!missing.errorMessage.isEmpty)
        let wrong = api.get("/infer")
        #expect(wrong.status == 405)
        #expect(wrong.header("Allow") == "POST")
        #expect(api.call(HTTPRequest(method: "POST", path: "/metrics")).status == 405)
    }

    @Test func metricsCountRequestsPerModelAndCode() throws {
        let api = APIHarness()
        _ = api.post(#"{"model": "test", "input": [[[[0, 0], [0, 0]]], [[[1, 0], [0, 0]]]]}"#)
        _ = api.post(#"{"model": "test", "input": [[[0, 0, 0, 0]]]}"#)
        _ = api.post("{")
        _ = api.get("/nope")
        let r = api.get("/metrics")
        #expect(r.status == 200)
        #expect(r.header("Content-Type")?.hasPrefix("text/plain; version=0.0.4") == true)
        let text = r.text
        #expect(text.contains(#"dyserve_requests_total{model="test",code="200"} 1"#), "\(text)")
        #expect(text.contains(#"dyserve_requests_total{model="test",code="400"} 1"#))
        #expect(text.contains(#"dyserve_inferences_total{model="test"} 2"#))
        #expect(text.contains(#"dyserve_in_flight_requests{model="test"} 0"#))
        #expect(text.contains(#"dyserve_request_duration_seconds_count{model="test"} 1"#))
        #expect(text.contains(#"dyserve_compute_duration_seconds_bucket{model="test",le="+Inf"} 1"#))
        #expect(text.contains(#"dyserve_queue_duration_seconds_count{model="test"} 1"#))
        #expect(text.contains(#"dyserve_attention_store_entries{model="test"} 1"#))
        #expect(text.contains(#"dyserve_http_requests_total{route="infer",code="400"} 2"#))
        #expect(text.contains(#"dyserve_http_requests_total{route="unmatched",code="404"} 1"#))
        #expect(text.contains("dyserve_uptime_seconds"))
        #expect(text.contains("dyserve_ready 1"))
        #expect(text.contains("process_resident_memory_bytes"))
    }

    @Test func inFlightGaugeCountsQueuedRequests() {
        let gated = GatedExecutor()
        let api = APIHarness(executor: gated)
        let box = ResponseBox()
        api.handler.handle(HTTPRequest(method: "POST", path: "/infer",
                                       body: Array(#"{"model": "test", "input": [[[[0, 0], [0, 0]]]]}"#.utf8))) { box.put($0) }
        // The JSON is decoded off-thread; wait until the job reaches the executor.
        waitUntil("the job reaches the executor") { gated.heldCount > 0 }
        #expect(api.get("/metrics").text.contains(#"dyserve_in_flight_requests{model="test"} 1"#))
        gated.release()
        #expect(box.wait().status == 200)
        #expect(api.get("/metrics").text.contains(#"dyserve_in_flight_requests{model="test"} 0"#))
    }
}
