import DyNN
import Foundation
import Testing
@testable import DyServe

/// Every V2 endpoint in-process over real HTTP on 127.0.0.1, as a V2 client sees it on the wire.
@Suite struct V2EndpointTests {
    func withService(models: [String: any ServableModel] = ["test": TestModel()],
                     limits: APILimits = APILimits(maxBodyBytes: 1 << 20), registry: ModelRegistry? = nil,
                     _ body: (APIHarness, TestHTTPClient) throws -> Void) throws {
        let api = APIHarness(models: models, limits: limits, registry: registry)
        let server = HTTPServer(configuration: HTTPServerConfiguration(maxBodyBytes: limits.maxBodyBytes), handler: api.handler)
        try server.start(host: "127.0.0.1", port: 0)
        defer {
            server.stop()
            api.pool?.shutdown()
        }
        let client = try TestHTTPClient(port: try #require(server.boundPort))
        defer { client.close() }
        try body(api, client)
    }

    func json(_ bytes: some Collection<UInt8>) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any] ?? [:]
    }

    func error(_ r: TestHTTPResponse) -> String { json(r.body)["error"] as? String ?? "" }

    static let input = #""name": "input", "shape": [2, 1, 2, 2], "datatype": "FP32""#
    static let samples: [Float] = [1, 1, 0, 0, 0, 0, 3, 0]
    static let expected = TestModel.softmax([2, 0, 0]) + TestModel.softmax([0, 3, 0])

    func post(_ client: TestHTTPClient, _ json: String, binary: [UInt8] = [], path: String = "/v2/models/test/infer",
              headers: [(String, String)] = []) throws -> TestHTTPResponse {
        let extra = binary.isEmpty ? [] : [("Inference-Header-Content-Length", String(json.utf8.count))]
        return try client.request(method: "POST", path: path, headers: extra + headers, body: Array(json.utf8) + binary)
    }

    func floats(_ bytes: ArraySlice<UInt8>) -> [Float] {
        stride(from: bytes.startIndex, to: bytes.endIndex, by: 4).map { i in
            Float(bitPattern: UInt32(bytes[i]) | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2]) << 16 | UInt32(bytes[i + 3]) << 24)
        }
    }

    func close(_ a: [Float], _ b: [Float]) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) < 1e-6 }
    }

    @Test func healthAndMetadata() throws {
        try withService { _, client in
            for path in ["/v2/health/live", "/v2/health/ready", "/v2/models/test/ready", "/v2/models/test/versions/1/ready"] {
                let r = try client.request(path: path)
                #expect(r.status == 200 && !r.body.isEmpty, "\(path)")
            }
            let server = json(try client.request(path: "/v2").body)
            #expect(server["name"] as? String == "dyserve")
            #expect(Set(server["extensions"] as? [String] ?? []).isSuperset(of: ["binary_tensor_data", "parameters", "statistics", "model_configuration", "classification", "model_repository"]))
            for path in ["/v2/models/test", "/v2/models/test/versions/1"] {
                let meta = json(try client.request(path: path).body)
                #expect(meta["name"] as? String == "test" && meta["platform"] as? String == "dyserve")
                #expect(meta["versions"] as? [String] == ["1"])
                let inputs = meta["inputs"] as? [[String: Any]]
                #expect(inputs?.first?["shape"] as? [Int] == [-1, 1, 2, 2] && inputs?.first?["datatype"] as? String == "FP32")
                #expect((meta["outputs"] as? [[String: Any]])?.first?["name"] as? String == "probs")
            }
            for path in ["/v2/models/test/versions/2", "/v2/models/test/versions/2/ready", "/v2/models/nope",
                         "/v2/models/nope/ready", "/v2/models/test/versions/2/stats", "/v2/what"] {
                let r = try client.request(path: path)
                #expect(r.status == 404, "\(path)")
                #expect(!error(r).isEmpty)
            }
            let wrong = try client.request(method: "GET", path: "/v2/models/test/infer")
            #expect(wrong.status == 405 && wrong.header("allow") == "POST")
        }
    }

    @Test func notReadyIs503() throws {
        let registry = ModelRegistry(names: ["test"])
        try withService(registry: registry) { _, client in
            let ready = try client.request(path: "/v2/health/ready")
            #expect(ready.status == 503 && error(ready).contains("model test is loading"))
            #expect(try client.request(path: "/v2/health/live").status == 200)
            #expect(try client.request(path: "/v2/models/test/ready").status == 503)
            let infer = try post(client, #"{"inputs": [{\#(Self.input), "data": [1,1,0,0,0,0,3,0]}]}"#)
            #expect(infer.status == 503 && error(infer).contains("still loading"))
            registry.setLoaded("test", model: TestModel(), loadSeconds: 0)
            #expect(try client.request(path: "/v2/health/ready").status == 200)
            registry.beginShutdown()
            #expect(try client.request(path: "/v2/health/ready").status == 503)
        }
    }

    @Test func jsonInferenceEchoesIdAndFiltersOutputs() throws {
        try withService { _, client in
            let r = try post(client, #"{"id": "req-7", "inputs": [{\#(Self.input), "data": [[[[1,1],[0,0]]],[[[0,0],[3,0]]]]}], "outputs": [{"name": "probs"}]}"#)
            #expect(r.status == 200, "\(r.bodyText)")
            #expect(r.header("content-type") == "application/json" && r.header("inference-header-content-length") == nil)
            let body = json(r.body)
            #expect(body["id"] as? String == "req-7" && body["model_name"] as? String == "test" && body["model_version"] as? String == "1")
            let outputs = try #require(body["outputs"] as? [[String: Any]])
            #expect(outputs.count == 1 && outputs[0]["shape"] as? [Int] == [2, 3])
            #expect(close((outputs[0]["data"] as? [Double] ?? []).map(Float.init), Self.expected))
            let unknown = try post(client, #"{"inputs": [{\#(Self.input), "data": [1,1,0,0,0,0,3,0]}], "outputs": [{"name": "logits"}]}"#)
            #expect(unknown.status == 400 && error(unknown).contains("no output \"logits\""))
        }
    }

    @Test func binaryInferenceInAndOut() throws {
        try withService { _, client in
            let header = #"{"inputs": [{\#(Self.input), "parameters": {"binary_data_size": 32}}], "parameters": {"binary_data_output": true}}"#
            let r = try post(client, header, binary: littleEndian(Self.samples))
            #expect(r.status == 200, "\(r.bodyText)")
            #expect(r.header("content-type") == "application/octet-stream")
            let length = try #require(Int(r.header("inference-header-content-length") ?? ""))
            let head = json(r.body.prefix(length))
            let output = try #require((head["outputs"] as? [[String: Any]])?.first)
            #expect((output["parameters"] as? [String: Any])?["binary_data_size"] as? Int == 24 && output["data"] == nil)
            #expect(r.body.count == length + 24)
            #expect(close(floats(r.body[length...]), Self.expected))

            // Per-output binary_data overrides the request default.
            let mixed = try post(client, #"{"inputs": [{\#(Self.input), "parameters": {"binary_data_size": 32}}], "outputs": [{"name": "probs", "parameters": {"binary_data": false}}], "parameters": {"binary_data_output": true}}"#,
                                 binary: littleEndian(Self.samples))
            #expect(mixed.status == 200 && mixed.header("inference-header-content-length") == nil)

            // Raw body: Inference-Header-Content-Length 0.
            let raw = try client.request(method: "POST", path: "/v2/models/test/versions/1/infer",
                                         headers: [("Inference-Header-Content-Length", "0")], body: littleEndian(Self.samples))
            #expect(raw.status == 200, "\(raw.bodyText)")
            let rawLength = try #require(Int(raw.header("inference-header-content-length") ?? ""))
            #expect(close(floats(raw.body[rawLength...]), Self.expected))
        }
    }

    @Test func malformedBinaryHeadersAre400AndTheServerCarriesOn() throws {
        try withService { _, client in
            let header = #"{"inputs": [{\#(Self.input), "parameters": {"binary_data_size": 32}}]}"#
            let body = Array(header.utf8) + littleEndian(Self.samples)
            for (length, fragment) in [(String(body.count + 1), "the body has only"), ("x", "non-negative integer")] {
                let r = try client.request(method: "POST", path: "/v2/models/test/infer",
                                           headers: [("Inference-Header-Content-Length", length)], body: body)
                #expect(r.status == 400 && error(r).contains(fragment), "\(r.bodyText)")
            }
            let short = try post(client, header, binary: Array(littleEndian(Self.samples).prefix(20)))
            #expect(short.status == 400 && error(short).contains("past the end"))
            let extra = try post(client, header, binary: littleEndian(Self.samples) + [9])
            #expect(extra.status == 400 && error(extra).contains("add up to 32"))
            #expect(try client.request(path: "/v2/health/live").status == 200)
        }
    }

    @Test func gzipRequestsAndResponses() throws {
        try withService { _, client in
            let request = Array(#"{"inputs": [{\#(Self.input), "data": [1,1,0,0,0,0,3,0]}]}"#.utf8)
            let r = try client.request(method: "POST", path: "/v2/models/test/infer",
                                       headers: [("Content-Encoding", "gzip"), ("Accept-Encoding", "gzip")],
                                       body: try ContentCoding.gzip.encode(request))
            #expect(r.status == 200, "\(r.bodyText)")
            #expect(r.header("content-encoding") == "gzip")
            let plain = try ContentCoding.gzip.decode(r.body, limit: 1 << 20)
            let data = ((json(plain)["outputs"] as? [[String: Any]])?.first?["data"] as? [Double] ?? []).map(Float.init)
            #expect(close(data, Self.expected))

            let bomb = try ContentCoding.gzip.encode([UInt8](repeating: 32, count: (1 << 20) + 1))
            let big = try client.request(method: "POST", path: "/v2/models/test/infer",
                                         headers: [("Content-Encoding", "gzip")], body: bomb)
            #expect(big.status == 413 && error(big).contains("inflates to more than"))
            let corrupt = try client.request(method: "POST", path: "/v2/models/test/infer",
                                             headers: [("Content-Encoding", "deflate")], body: Array("oops".utf8))
            #expect(corrupt.status == 400 && error(corrupt).contains("deflate"))
            let unknown = try client.request(method: "POST", path: "/v2/models/test/infer",
                                             headers: [("Content-Encoding", "br")], body: request)
            #expect(unknown.status == 415)
        }
    }

    @Test func traceOutputsAndTraceID() throws {
        try withService { _, client in
            let r = try post(client, #"{"inputs": [{\#(Self.input), "data": [1,1,0,0,0,0,3,0]}], "parameters": {"trace": "full", "temperature": 2}}"#)
            #expect(r.status == 200, "\(r.bodyText)")
            let body = json(r.body)
            let outputs = try #require(body["outputs"] as? [[String: Any]])
            #expect(outputs.map { $0["name"] as? String } == ["probs", "attention/conv1", "dyrelu_a/act1", "dyrelu_b/act1", "dyrelu_spatial/act1"])
            #expect(outputs[1]["shape"] as? [Int] == [2, 3])
            #expect(outputs[2]["shape"] as? [Int] == [2, 2] && outputs[4]["shape"] as? [Int] == [2, 4])
            let tempered = TestModel.softmax([1, 0, 0]) + TestModel.softmax([0, 1.5, 0])
            #expect(close((outputs[1]["data"] as? [Double] ?? []).map(Float.init), tempered))
            let traceID = try #require((body["parameters"] as? [String: Any])?["trace_id"] as? String)
            let trace = json(try client.request(path: "/attention?id=\(traceID)").body)
            #expect(trace["trace"] as? String == "full" && trace["temperature"] as? Double == 2)

            // Without a trace parameter: attention is recorded (trace_id) but no extra outputs.
            let plain = json(try post(client, #"{"inputs": [{\#(Self.input), "data": [1,1,0,0,0,0,3,0]}]}"#).body)
            #expect((plain["outputs"] as? [[String: Any]])?.count == 1)
            #expect((plain["parameters"] as? [String: Any])?["trace_id"] != nil)

            // A filter naming only a trace output returns it (and the model output is left out).
            let filtered = json(try post(client, #"{"inputs": [{\#(Self.input), "data": [1,1,0,0,0,0,3,0]}], "parameters": {"trace": "attention"}, "outputs": [{"name": "attention/conv1"}]}"#).body)
            #expect((filtered["outputs"] as? [[String: Any]])?.map { $0["name"] as? String } == ["attention/conv1"])
            let missing = try post(client, #"{"inputs": [{\#(Self.input), "data": [1,1,0,0,0,0,3,0]}], "parameters": {"trace": "attention"}, "outputs": [{"name": "dyrelu_a/act1"}]}"#)
            #expect(missing.status == 400 && error(missing).contains("trace level \"attention\""))
        }
    }

    @Test func statisticsCountBothAPIs() throws {
        try withService { api, client in
            _ = try post(client, #"{"inputs": [{\#(Self.input), "data": [1,1,0,0,0,0,3,0]}]}"#)
            let simple = try client.request(method: "POST", path: "/infer", headers: [("Content-Type", "application/json")],
                                            body: Array(#"{"model": "test", "input": [[[[1, 1], [0, 0]]]]}"#.utf8))
            #expect(simple.status == 200)
            let bad = try post(client, #"{"inputs": [{\#(Self.input), "data": [1]}]}"#)
            #expect(bad.status == 400)
            for path in ["/v2/models/test/stats", "/v2/models/test/versions/1/stats", "/v2/models/stats"] {
                let stats = json(try client.request(path: path).body)
                let model = try #require((stats["model_stats"] as? [[String: Any]])?.first)
                #expect(model["name"] as? String == "test" && model["version"] as? String == "1")
                #expect(model["inference_count"] as? Int == 3 && model["execution_count"] as? Int == 2)
                let inference = try #require(model["inference_stats"] as? [String: [String: Int]])
                #expect(inference["success"]?["count"] == 2 && inference["fail"]?["count"] == 1)
                #expect(inference["queue"]?["count"] == 2 && inference["compute_infer"]?["count"] == 2)
                #expect((inference["success"]?["ns"] ?? 0) >= (inference["compute_infer"]?["ns"] ?? 1))
                let batches = (model["batch_stats"] as? [[String: Any]])?.compactMap { $0["batch_size"] as? Int }
                #expect(batches == [1, 2])
            }
            #expect(api.context.statistics.snapshot(model: "test").inferenceCount == 3)
        }
    }

    @Test func executorRefusalIs503() throws {
        let gated = GatedExecutor()
        gated.refuse = true
        let api = APIHarness(executor: gated)
        let r = api.call(HTTPRequest(method: "POST", path: "/v2/models/test/infer",
                                     body: Array(#"{"inputs": [{\#(Self.input), "data": [1,1,0,0,0,0,3,0]}]}"#.utf8)))
        #expect(r.status == 503 && r.errorMessage.contains("queue is full"))
        #expect(r.header("Retry-After") == "1")
        #expect(api.context.statistics.snapshot(model: "test").fail.count == 1)
    }
}
