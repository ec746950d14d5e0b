import DyNN
import Foundation
import Testing
@testable import DyServe

/// The whole service over real HTTP on an ephemeral port: every endpoint, content type and error,
/// as a client sees them on the wire.
@Suite struct HTTPIntegrationTests {
    /// Starts the API over `models` on 127.0.0.1:0, runs `body` with the port, then stops.
    func withService(models: [String: any ServableModel] = ["test": TestModel()],
                     limits: APILimits = APILimits(maxBodyBytes: 1 << 20), registry: ModelRegistry? = nil,
                     _ body: (APIHarness, Int) throws -> Void) throws {
        let api = APIHarness(models: models, limits: limits, registry: registry)
        let server = HTTPServer(configuration: HTTPServerConfiguration(maxBodyBytes: limits.maxBodyBytes),
                                handler: api.handler)
        try server.start(host: "127.0.0.1", port: 0)
        defer {
            server.stop()
            api.pool?.shutdown()
        }
        let port = try #require(server.boundPort)
        try body(api, port)
    }

    static let digit = #"{"model": "test", "input": [[[[2, 1], [0, 0]]]], "top_k": 1}"#

    func json(_ r: TestHTTPResponse) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(r.body))) as? [String: Any] ?? [:]
    }

    func error(_ r: TestHTTPResponse) -> String { json(r)["error"] as? String ?? "" }

    @Test func inferOverJSONThenFetchItsAttention() throws {
        try withService { _, port in
            let client = try TestHTTPClient(port: port)
            let r = try client.request(method: "POST", path: "/infer", headers: [("Content-Type", "application/json")],
                                       body: Array(Self.digit.utf8))
            #expect(r.status == 200, "\(r.bodyText)")
            #expect(r.header("content-type") == "application/json")
            #expect(r.header("server-timing")?.contains("total;dur=") == true)
            let id = try #require(r.header("x-request-id"))
            #expect(json(r)["id"] as? String == id)
            let top = (json(r)["top_k"] as? [[[String: Any]]])?.first?.first
            #expect(top?["label"] as? String == "left")

            // Same keep-alive connection.
            let trace = try client.request(path: "/attention?id=\(id)")
            #expect(trace.status == 200)
            let layers = json(trace)["layers"] as? [[String: Any]]
            #expect(layers?.first?["name"] as? String == "conv1")
            let list = try client.request(path: "/attention")
            #expect((json(list)["requests"] as? [[String: Any]])?.first?["id"] as? String == id)
            #expect(try client.request(path: "/attention?id=ffffffffffffffff").status == 404)
        }
    }

    @Test func inferOverRawFP32AndNpy() throws {
        try withService { _, port in
            let client = try TestHTTPClient(port: port)
            let raw = try client.request(method: "POST", path: "/infer?model=test&trace=full&return_trace=true",
                                         headers: [("Content-Type", "application/octet-stream"), ("X-Tensor-Shape", "1,1,2,2")],
                                         body: littleEndian([0, 0, 1, 1]))
            #expect(raw.status == 200, "\(raw.bodyText)")
            let trace = try #require(json(raw)["trace"] as? [String: Any])
            #expect((trace["layers"] as? [[String: Any]])?.last?["activation"] != nil)
            let npy = try client.request(method: "POST", path: "/infer?model=test",
                                         headers: [("Content-Type", "application/x-npy")], body: littleEndian([3, 0, 0, 0]))
            #expect(npy.status == 200, "\(npy.bodyText)")
        }
    }

    @Test func everyErrorIsJSONWithTheRightStatus() throws {
        try withService(limits: APILimits(maxBodyBytes: 4096)) { _, port in
            // A fresh connection per request: the server closes one after answering 413 early.
            func post(_ body: String, path: String = "/infer", type: String = "application/json") throws -> TestHTTPResponse {
                try TestHTTPClient(port: port).request(method: "POST", path: path, headers: [("Content-Type", type)],
                                                       body: Array(body.utf8))
            }
            let client = try TestHTTPClient(port: port)
            let shape = try post(#"{"model": "test", "input": [[[1, 1, 0, 0]]]}"#)
            #expect(shape.status == 400)
            #expect(error(shape) == "input shape [1,1,4] does not match [-1,1,2,2]")
            #expect(try post(#"{"model": "nope", "input": [1]}"#).status == 404)
            #expect(try post("a,b", type: "text/csv").status == 415)
            #expect(try client.request(path: "/nope").status == 404)
            let wrong = try client.request(path: "/infer")
            #expect(wrong.status == 405)
            #expect(wrong.header("allow") == "POST")
            let big = try post(#"{"model": "test", "input": ["# + String(repeating: "0,", count: 3000) + "0]}")
            #expect(big.status == 413)
            let deep = try post(String(repeating: "[", count: 4000))
            #expect(deep.status == 400)
            for r in [shape, wrong, big, deep] {
                #expect(r.header("content-type") == "application/json")
                #expect(!error(r).isEmpty)
            }
        }
    }

    @Test func healthReadinessModelsAndMetrics() throws {
        try withService { _, port in
            let client = try TestHTTPClient(port: port)
            #expect(try client.request(path: "/healthz").status == 200)
            #expect(try client.request(path: "/readyz").status == 200)
            let models = try client.request(path: "/models")
            #expect((json(models)["models"] as? [[String: Any]])?.first?["name"] as? String == "test")
            _ = try client.request(method: "POST", path: "/infer", body: Array(Self.digit.utf8))
            let metrics = try client.request(path: "/metrics")
            #expect(metrics.status == 200)
            #expect(metrics.bodyText.contains(#"dyserve_requests_total{model="test",code="200"} 1"#))
            #expect(metrics.bodyText.contains(#"dyserve_http_requests_total{route="healthz",code="200"} 1"#))
        }
    }

    @Test func concurrentClientsAllGetAnswers() throws {
        try withService { _, port in
            let failures = Collected()
            DispatchQueue.concurrentPerform(iterations: 8) { _ in
                do {
                    let client = try TestHTTPClient(port: port)
                    for _ in 0..<20 {
                        let r = try client.request(method: "POST", path: "/infer", body: Array(Self.digit.utf8))
                        if r.status != 200 { failures.append(Float(r.status)) }
                    }
                } catch {
                    failures.append(-1)
                }
            }
            #expect(failures.values.isEmpty)
        }
    }

    @Test func notReadyAndShuttingDownAre503() throws {
        let registry = ModelRegistry(names: ["test"])
        try withService(registry: registry) { _, port in
            let client = try TestHTTPClient(port: port)
            let loading = try client.request(path: "/readyz")
            #expect(loading.status == 503)
            #expect(error(loading).contains("model test is loading"))
            let infer = try client.request(method: "POST", path: "/infer", body: Array(Self.digit.utf8))
            #expect(infer.status == 503)
            #expect(infer.header("retry-after") == "1")
            registry.setLoaded("test", model: TestModel(), loadSeconds: 0)
            #expect(try client.request(path: "/readyz").status == 200)
            #expect(try client.request(method: "POST", path: "/infer", body: Array(Self.digit.utf8)).status == 200)
            registry.beginShutdown()
            #expect(try client.request(path: "/readyz").status == 503)
            #expect(try client.request(path: "/healthz").status == 200)
            let head = try client.request(method: "HEAD", path: "/healthz")
            #expect(head.status == 200 && head.body.isEmpty)
        }
    }
}
