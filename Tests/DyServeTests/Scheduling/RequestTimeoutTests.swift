import DyNN
import Foundation
import Testing
@testable import DyServe

/// The request's own timeout from every source: the V2 request parameter `timeout` (microseconds,
/// as Triton defines it), a JSON `/infer` body's `timeout` (milliseconds, like the query
/// parameter), the `timeout` query parameter and `X-Request-Timeout-Ms` on V2. Deadlines are
/// measured on the scheduler's hand-moved clock.
@Suite struct RequestTimeoutTests {
    static let v2Input = #""name": "input", "shape": [1, 1, 2, 2], "datatype": "FP32", "data": [1, 0, 0, 0]"#

    static func v2Body(parameters: String? = nil) -> String {
        #"{"inputs": [{\#(v2Input)}]"# + (parameters.map { #", "parameters": \#($0)"# } ?? "") + "}"
    }

    func sendV2(_ h: SchedulerHarness, _ body: String, query: [String: String] = [:],
                headers: [String: String] = [:]) -> ResponseBox {
        let box = ResponseBox()
        h.handler.handle(HTTPRequest(method: "POST", path: "/v2/models/test/infer", query: query, headers: headers,
                                     body: Array(body.utf8))) { box.put($0) }
        return box
    }

    @Test func theV2ParameterIsReadInMicroseconds() throws {
        let decoder = V2InferBodyDecoder(maxDepth: 16, maxElements: 1000)
        let r = try decoder.decode(body: Array(Self.v2Body(parameters: #"{"timeout": 2500}"#).utf8), headerLength: nil,
                                   model: TestModel().info)
        #expect(r.header.timeout == 2_500_000)  // 2500 us in nanoseconds
        let none = try decoder.decode(body: Array(Self.v2Body().utf8), headerLength: nil, model: TestModel().info)
        #expect(none.header.timeout == nil)
    }

    @Test func aV2TimeoutParameterExpiresInTheQueue() {
        let model = GatedRecordingModel()
        let h = SchedulerHarness(model: model, settings: SchedulerSettings(maxBatchSize: 1, timeoutMilliseconds: 30_000))
        let running = h.send(inferBody([[1, 0, 0, 0]]))
        model.waitUntilBlocked()
        // 500,000 us = 0.5 s: read as milliseconds it would outlive the 0.6 s below.
        let short = sendV2(h, Self.v2Body(parameters: #"{"timeout": 500000}"#))
        h.waitUntilQueued(1)
        let patient = sendV2(h, Self.v2Body())
        h.waitUntilQueued(2)
        h.advance(milliseconds: 600)
        h.executor.expireOverdue()
        let expired = short.wait()
        #expect(expired.status == 503)
        #expect(expired.header("Retry-After") == "1")
        #expect(expired.errorMessage.contains("deadline"))
        model.release()
        #expect(running.wait().status == 200)
        #expect(patient.wait().status == 200)
        #expect(model.recordedBatches == [1, 1])
        #expect(h.metricsText.contains(h.rejections("timeout") + " 1"))
    }

    @Test func onV2TheShortestOfParameterHeaderAndQueryWins() {
        let model = GatedRecordingModel(blockedCalls: 1)
        let h = SchedulerHarness(model: model, settings: SchedulerSettings(maxBatchSize: 1))
        let running = h.send(inferBody([[1, 0, 0, 0]]))
        model.waitUntilBlocked()
        // The parameter asks for a minute; the header (and, on the next one, the query) for 3 ms.
        let byHeader = sendV2(h, Self.v2Body(parameters: #"{"timeout": 60000000}"#), headers: ["x-request-timeout-ms": "3"])
        h.waitUntilQueued(1)
        let byQuery = sendV2(h, Self.v2Body(parameters: #"{"timeout": 60000000}"#), query: ["timeout": "3"])
        h.waitUntilQueued(2)
        h.advance(milliseconds: 4)
        h.executor.expireOverdue()
        #expect(byHeader.wait().status == 503)
        #expect(byQuery.wait().status == 503)
        model.release()
        #expect(running.wait().status == 200)
    }

    @Test func aJSONInferBodyTimeoutExpiresInTheQueue() {
        let model = GatedRecordingModel()
        let h = SchedulerHarness(model: model, settings: SchedulerSettings(maxBatchSize: 1))
        let running = h.send(inferBody([[1, 0, 0, 0]]))
        model.waitUntilBlocked()
        let short = h.send(#"{"model": "test", "input": [[[[2, 0], [0, 0]]]], "timeout": 3}"#)
        h.waitUntilQueued(1)
        h.advance(milliseconds: 4)
        h.executor.expireOverdue()
        #expect(short.wait().status == 503)
        model.release()
        #expect(running.wait().status == 200)
        #expect(model.recordedBatches == [1])
    }

    @Test(arguments: ["0", "-5", "2.5", "1e300", "86400000001", #""5000""#, "true", "null", "[5]", "{}"])
    func malformedV2TimeoutsAreBadRequests(value: String) {
        let h = SchedulerHarness(model: TestModel(), settings: SchedulerSettings(maxBatchSize: 1))
        let r = sendV2(h, Self.v2Body(parameters: #"{"timeout": \#(value)}"#)).wait()
        #expect(r.status == 400)
        #expect(r.errorMessage.contains("parameters.timeout"), "\(r.errorMessage)")
        #expect(r.errorMessage.contains("microseconds"), "\(r.errorMessage)")
    }

    @Test(arguments: ["0", "-1", "0.5", "2.5", "1e12", "86400001", #""5""#, "false", "null"])
    func malformedJSONBodyTimeoutsAreBadRequests(value: String) {
        let h = SchedulerHarness(model: TestModel(), settings: SchedulerSettings(maxBatchSize: 1))
        let r = h.send(#"{"model": "test", "input": [[[[2, 0], [0, 0]]]], "timeout": \#(value)}"#).wait()
        #expect(r.status == 400)
        #expect(r.errorMessage.contains("timeout"), "\(r.errorMessage)")
        #expect(r.errorMessage.contains("milliseconds"), "\(r.errorMessage)")
    }

    @Test func malformedV2HeaderAndQueryTimeoutsAreBadRequests() {
        let h = SchedulerHarness(model: TestModel(), settings: SchedulerSettings(maxBatchSize: 1))
        let header = sendV2(h, Self.v2Body(), headers: ["x-request-timeout-ms": "-3"]).wait()
        #expect(header.status == 400 && header.errorMessage.contains("X-Request-Timeout-Ms"))
        let query = sendV2(h, Self.v2Body(), query: ["timeout": "1.5"]).wait()
        #expect(query.status == 400 && query.errorMessage.contains("query timeout"))
        // Counted as failed requests in the V2 statistics.
        #expect(h.context.statistics.snapshot(model: "test").fail.count == 2)
    }
}
