import DyNN
import Foundation
import Testing
@testable import DyServe

/// Large answers (the trace of a big batch) must not hold the server's polling thread, and one
/// request's trace is capped when stored. (The server-wide byte budgets: HTTPServerBudgetTests.)
@Suite struct LargeResponseTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func digits() throws -> DyNNServableModel {
        try DyNNServableModel.load("dy-digits", modelsDirectory: root.appendingPathComponent("models"))
    }

    /// `batch` dy-digits samples (8x8 each) as raw little-endian fp32.
    static func batchBody(_ batch: Int) -> [UInt8] {
        littleEndian((0..<(batch * 64)).map { Float($0 % 17) / 16 })
    }

    /// Starts the API over dy-digits behind a real HTTP server; `body` gets the port.
    static func withDigitsService(store: TraceStoreLimits, http: HTTPServerConfiguration,
                                  _ body: (APIHarness, Int) throws -> Void) throws {
        let api = APIHarness(models: ["dy-digits": try digits()], store: store)
        let server = HTTPServer(configuration: http, handler: api.handler)
        try server.start(host: "127.0.0.1", port: 0)
        defer {
            server.stop()
            api.pool?.shutdown()
        }
        try body(api, try #require(server.boundPort))
    }

    /// Runs a traced inference of `batch` samples; returns its request id.
    static func tracedInference(port: Int, batch: Int) throws -> String {
        let r = try TestHTTPClient(port: port).request(
            method: "POST", path: "/infer?model=dy-digits&trace=full",
            headers: [("Content-Type", "application/octet-stream"), ("X-Tensor-Shape", "\(batch),1,8,8")],
            body: batchBody(batch))
        #expect(r.status == 200, "\(r.bodyText.prefix(300))")
        return try #require(r.header("x-request-id"))
    }

    @Test func introspectionIsAnsweredOffTheCallingThreadAndProbesOnIt() throws {
        let api = APIHarness()
        for (path, inline) in [("/attention", false), ("/metrics", false), ("/models", false), ("/healthz", true)] {
            let caller = pthread_self()
            let answeredOn = ThreadBox()
            let box = ResponseBox()
            api.handler.handle(HTTPRequest(method: "GET", path: path)) { response in
                answeredOn.set(pthread_equal(pthread_self(), caller) != 0)
                box.put(response)
            }
            #expect(box.wait().status == 200)
            #expect(answeredOn.value == inline, "\(path) answered on the calling thread: \(answeredOn.value ?? false)")
        }
        api.pool?.shutdown()
    }

    @Test func probesAndInferenceAnswerWhileLargeTracesAreFetchedInALoop() throws {
        let store = TraceStoreLimits(maxEntries: 1000, maxBytes: 512 << 20, maxRecordBytes: 256 << 20)
        try Self.withDigitsService(store: store, http: HTTPServerConfiguration(maxBodyBytes: 8 << 20)) { _, port in
            let id = try Self.tracedInference(port: port, batch: 256)
            let stop = ThreadBox()
            let fetched = Counter()
            let group = DispatchGroup()
            for _ in 0..<3 {
                DispatchQueue.global().async(group: group) {
                    while stop.value != true {
                        let r = try? TestHTTPClient(port: port, timeoutSeconds: 60).request(path: "/attention?id=\(id)")
                        guard let r, r.status == 200, r.body.count > 256 << 10 else {
                            Issue.record("a large trace fetch failed: \(r?.status ?? 0), \(r?.body.count ?? 0) bytes")
                            return
                        }
                        fetched.increment()
                    }
                }
            }
            defer {
                stop.set(true)
                group.waitInTest("the trace fetchers to stop")
            }
            // Completion is the assertion (each client call has a 20 s socket timeout).
            let probe = try TestHTTPClient(port: port)
            let infer = try TestHTTPClient(port: port)
            // At least 20 rounds, and until the fetchers have brought back a few traces meanwhile.
            var rounds = 0
            while rounds < 20 || (fetched.value < 3 && rounds < 2000) {
                rounds += 1
                #expect(try probe.request(path: "/healthz").status == 200)
                let r = try infer.request(method: "POST", path: "/infer?model=dy-digits",
                                          headers: [("Content-Type", "application/octet-stream"), ("X-Tensor-Shape", "1,1,8,8")],
                                          body: Self.batchBody(1))
                #expect(r.status == 200)
            }
            stop.set(true)
            group.waitInTest("the trace fetchers to stop")
            #expect(fetched.value >= 3)
        }
    }

    @Test func aTraceOverTheRecordCapKeepsItsFirstSamplesAndSaysSo() throws {
        let store = TraceStoreLimits(maxEntries: 10, maxBytes: 64 << 20, maxRecordBytes: 64 << 10)
        try Self.withDigitsService(store: store, http: HTTPServerConfiguration(maxBodyBytes: 8 << 20)) { api, port in
            let id = try Self.tracedInference(port: port, batch: 256)
            let stored = try #require(api.context.traces.record(id: id))
            #expect(stored.estimatedBytes <= 64 << 10)
            let kept = try #require(stored.samplesKept)
            #expect(kept > 0 && kept < 256)
            let r = try TestHTTPClient(port: port).request(path: "/attention?id=\(id)")
            let json = try #require(try JSONSerialization.jsonObject(with: Data(r.body)) as? [String: Any])
            #expect(json["batch"] as? Int == 256)
            #expect(json["samples_kept"] as? Int == kept)
            #expect((json["note"] as? String)?.contains("max_record_bytes") == true)
            let layers = try #require(json["layers"] as? [[String: Any]])
            for layer in layers {
                if let pi = (layer["attention"] as? [String: Any])?["pi"] as? [[Double]] { #expect(pi.count == kept) }
            }
            // A small trace is stored whole and says nothing.
            let small = try Self.tracedInference(port: port, batch: 2)
            #expect(api.context.traces.record(id: small)?.samplesKept == nil)
        }
    }
}

/// A value set by one thread and read by another.
final class ThreadBox: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Bool?
    func set(_ v: Bool) { lock.withLock { stored = v } }
    var value: Bool? { lock.withLock { stored } }
}

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func increment() { lock.withLock { count += 1 } }
    var value: Int { lock.withLock { count } }
}
