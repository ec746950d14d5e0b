import DyNN
import Foundation
import Testing
@testable import DyServe

@Suite struct InferEndpointTests {
    let api = APIHarness()

    @Test func jsonRequestGivesOutputsTopKTimingAndHeaders() throws {
        let r = api.post(#"{"model": "test", "input": [[[[1, 1], [0, 0]]], [[[0, 0], [3, 0]]]], "top_k": 2}"#)
        #expect(r.status == 200, "\(r.text)")
        #expect(r.header("Content-Type") == "application/json")
        let id = try #require(r.header("X-Request-Id"))
        #expect(r.json["id"] as? String == id)
        #expect(r.json["model"] as? String == "test")
        #expect(r.header("Server-Timing")?.contains("compute;dur=") == true)
        let outputs = try #require(r.json["outputs"] as? [[String: Any]])
        #expect(outputs.count == 1)
        #expect(outputs[0]["name"] as? String == "probs")
        #expect(outputs[0]["shape"] as? [Int] == [2, 3])
        #expect(outputs[0]["datatype"] as? String == "FP32")
        let data = try #require(outputs[0]["data"] as? [Double])
        let expected = TestModel.softmax([2, 0, 0]) + TestModel.softmax([0, 3, 0])
        for (a, b) in zip(data, expected) { #expect(abs(a - Double(b)) < 1e-6) }
        let topK = try #require(r.json["top_k"] as? [[[String: Any]]])
        #expect(topK.count == 2 && topK[0].count == 2)
        #expect(topK[0][0]["index"] as? Int == 0 && topK[0][0]["label"] as? String == "left")
        #expect(topK[1][0]["index"] as? Int == 1 && topK[1][0]["label"] as? String == "right")
        let timing = try #require(r.json["timing_us"] as? [String: Int])
        #expect(Set(timing.keys) == ["queue", "compute", "total"])
        #expect(timing["total"]! >= timing["compute"]!)
        #expect(r.json["trace"] == nil)
    }

    @Test func shapeAndDataFormAndDefaultTopK() throws {
        let r = api.post(#"{"model": "test", "input": {"shape": [1, 1, 2, 2], "data": [0, 0, 0, 0]}}"#)
        #expect(r.status == 200, "\(r.text)")
        let topK = try #require(r.json["top_k"] as? [[[String: Any]]])
        #expect(topK[0].count == 3)  // default 5, capped at the 3 classes
    }

    @Test func rawFP32AndNpyBodies() throws {
        let raw = api.call(HTTPRequest(method: "POST", path: "/infer", query: ["model": "test", "top_k": "1"],
                                       headers: ["content-type": "application/octet-stream", "x-tensor-shape": "1,1,2,2"],
                                       body: littleEndian([0, 0, 2, 2])))
        #expect(raw.status == 200, "\(raw.text)")
        #expect((raw.json["top_k"] as? [[[String: Any]]])?[0][0]["label"] as? String == "right")
        let npy = api.call(HTTPRequest(method: "POST", path: "/infer", query: ["model": "test"],
                                       headers: ["content-type": "application/x-npy"], body: littleEndian([5, 0, 0, 0])))
        #expect(npy.status == 200, "\(npy.text)")
        #expect((npy.json["top_k"] as? [[[String: Any]]])?[0][0]["label"] as? String == "left")
    }

    @Test func returnTraceInlinesTheTraceAndFullAddsActivations() throws {
        let r = api.post(#"{"model": "test", "input": [[[[1, 0], [0, 0]]]], "return_trace": true, "trace": "full", "temperature": 4}"#)
        #expect(r.status == 200, "\(r.text)")
        let trace = try #require(r.json["trace"] as? [String: Any])
        #expect(trace["id"] as? String == r.header("X-Request-Id"))
        #expect(trace["temperature"] as? Double == 4)
        #expect(trace["trace"] as? String == "full")
        let layers = try #require(trace["layers"] as? [[String: Any]])
        #expect(layers.map { $0["name"] as? String } == ["conv1", "act1"])
        #expect(layers.map { $0["type"] as? String } == ["dynamic_conv2d", "dy_relu"])
        let attention = try #require(layers[0]["attention"] as? [String: Any])
        let pi = try #require(attention["pi"] as? [[Double]])
        let expected = TestModel.softmax([1 / 4, 0, 0])
        for (a, b) in zip(pi[0], expected) { #expect(abs(a - Double(b)) < 1e-6) }
        #expect((attention["entropy"] as? [Double])?.count == 1)
        let activation = try #require(layers[1]["activation"] as? [String: Any])
        #expect(activation["variant"] as? String == "C")
        #expect(activation["spatial"] as? [[Double]] == [[1, 1, 1, 1]])
        #expect(activation["height"] as? Int == 2)
    }

    @Test(arguments: [
        (#"{"model": "test", "input": [[[1, 1, 0, 0]]]}"#, "input shape [1,1,4] does not match [-1,1,2,2]"),
        (#"{"model": "test", "input": [[[[1, 1]], [[0, 0]]]]}"#, "input shape [1,2,1,2] does not match [-1,1,2,2]"),
        (#"{"model": "test", "input": {"shape": [0, 1, 2, 2], "data": []}}"#, "the batch is empty"),
        (#"{"model": "test", "input": [[[[1, "NaN"], [0, 0]]]]}"#, "input[0][0][0][1] is a string; expected a number"),
        (#"{"model": "test", "input": [[[[1, 1e40], [0, 0]]]]}"#, "is not a finite FP32 number"),
        (#"{"model": "test", "input": [[[[1, 1], [0]]]]}"#, "not rectangular"),
        (#"{"model": "test"}"#, "input is missing"),
        ("not json", "malformed JSON"),
        ("", "the body is empty"),
    ])
    func malformedInputIs400SayingWhatAndWhere(_ body: String, _ expected: String) {
        let r = api.post(body)
        #expect(r.status == 400)
        #expect(r.header("Content-Type") == "application/json")
        #expect(r.errorMessage.contains(expected), "\(r.errorMessage)")
    }

    @Test func unknownModelIs404AndListsTheKnownOnes() {
        let r = api.post(#"{"model": "nope", "input": [1]}"#)
        #expect(r.status == 404)
        #expect(r.errorMessage.contains("unknown model \"nope\"; available: test"))
    }

    @Test func unsupportedContentTypeIs415() {
        let r = api.call(HTTPRequest(method: "POST", path: "/infer", headers: ["content-type": "text/csv"], body: Array("1,2".utf8)))
        #expect(r.status == 415)
        #expect(r.errorMessage.contains("text/csv"))
        let charset = api.call(HTTPRequest(method: "POST", path: "/infer", headers: ["content-type": "Application/JSON; charset=utf-8"],
                                           body: Array(#"{"model": "test", "input": [[[[0, 0], [0, 0]]]]}"#.utf8)))
        #expect(charset.status == 200)
        let curlDefault = api.call(HTTPRequest(method: "POST", path: "/infer", headers: ["content-type": "application/x-www-form-urlencoded"],
                                               body: Array(#"{"model": "test", "input": [[[[0, 0], [0, 0]]]]}"#.utf8)))
        #expect(curlDefault.status == 200)
    }

    @Test func limitsGive413() {
        let small = APIHarness(limits: APILimits(maxBodyBytes: 64, maxTensorElements: 4))
        let body = #"{"model": "test", "input": [[[[0, 0], [0, 0]]]], "top_k": 1, "temperature": 1.00000000000}"#
        #expect(small.post(body).status == 413)
        #expect(small.post(#"{"model":"test","input":[1,2,3,4,5]}"#).status == 413)
        let big = small.call(HTTPRequest(method: "POST", path: "/infer", query: ["model": "test"],
                                         headers: ["content-type": "application/octet-stream", "x-tensor-shape": "1,1,2,3"],
                                         body: littleEndian([Float](repeating: 0, count: 6))))
        #expect(big.status == 413)
    }

    @Test func deepNestingIs400NotACrash() {
        let deep = #"{"model": "test", "input": "# + String(repeating: "[", count: 100_000) + "1"
            + String(repeating: "]", count: 100_000) + "}"
        let r = api.post(deep)
        #expect(r.status == 400)
        #expect(r.errorMessage.contains("nesting deeper than the limit of 64"))
        #expect(api.get("/healthz").status == 200)
    }

    @Test func aModelBugIs500AndTheServiceStaysHealthy() {
        let api = APIHarness(models: ["broken": BrokenModel(), "empty": NoOutputModel(), "test": TestModel()])
        let r = api.post(#"{"model": "broken", "input": [[[[0, 0], [0, 0]]]]}"#)
        #expect(r.status == 500)
        #expect(r.errorMessage.contains("inference failed"))
        let e = api.post(#"{"model": "empty", "input": [[[[0, 0], [0, 0]]]]}"#)
        #expect(e.status == 500)
        #expect(e.errorMessage.contains("returned 0 outputs"))
        #expect(api.post(#"{"model": "test", "input": [[[[0, 0], [0, 0]]]]}"#).status == 200)
        #expect(api.get("/readyz").status == 200)
    }

    @Test func fullQueueIs503() {
        let gated = GatedExecutor()
        gated.refuse = true
        let api = APIHarness(executor: gated)
        let r = api.post(#"{"model": "test", "input": [[[[0, 0], [0, 0]]]]}"#)
        #expect(r.status == 503)
        #expect(r.header("Retry-After") == "1")
    }

    @Test func jsonBodiesRejectQueryOptions() {
        let r = api.call(HTTPRequest(method: "POST", path: "/infer", query: ["model": "test"],
                                     body: Array(#"{"model": "test", "input": [[[[0, 0], [0, 0]]]]}"#.utf8)))
        #expect(r.status == 400)
    }

    @Test func randomBodiesNeverCrashAndAlwaysGetJSONErrors() {
        var rng = SplitMix64(seed: 7)
        let pieces = [#"{"model":"test","input":"#, "[", "]", ",", "1", "-0.5e3", "\"NaN\"", "{", "}", "\"shape\":",
                      "\"data\":", "[1,1,2,2]", "null", "1e999", "\u{0}", "\"", ":"]
        for _ in 0..<300 {
            let body = (0..<Int(rng.next() % 20)).map { _ in pieces[Int(rng.next() % UInt64(pieces.count))] }.joined()
            let r = api.post(body)
            #expect([200, 400, 413].contains(r.status), "\(body) -> \(r.status)")
            if r.status != 200 { #expect(!r.errorMessage.isEmpty) }
        }
        #expect(api.get("/healthz").status == 200)
    }
}

@Suite struct DeepNestingAtTheHardLimitTests {
    /// At the largest depth the configuration can ask for, the recursive reader must still fit the
    /// decode thread's stack (debug builds have the biggest frames).
    @Test func nestingAtTheHardCapIsDecodedWithoutOverflow() {
        let largest = ServiceConfig.Limits.maxJSONDepthRange.upperBound
        let api = APIHarness(limits: APILimits(maxJSONDepth: largest))
        let depth = largest - 1
        let input = String(repeating: "[", count: depth) + "1" + String(repeating: "]", count: depth)
        let r = api.post(#"{"model": "test", "input": "# + input + "}")
        #expect(r.status == 400)
        #expect(r.errorMessage.contains("does not match [-1,1,2,2]"))
        let other = String(repeating: "{\"a\":", count: depth - 1) + "1" + String(repeating: "}", count: depth - 1)
        let r2 = api.post(#"{"model": "#  + other + "}")
        #expect(r2.status == 400)
        #expect(r2.errorMessage.contains("model is an object"))
    }
}
