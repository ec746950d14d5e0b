import Dispatch
import DyNN
import Foundation
import Testing
@testable import DyServe

/// The two inference APIs, which share `InferencePipeline` and must answer and count alike.
enum InferenceAPI: String, CaseIterable, Sendable {
    case simple = "/infer"
    case v2 = "/v2/models/test/infer"

    /// One sample for the test model, `[x, 0, 0, 0]`.
    func request(_ x: Float = 1, context: RequestContext = RequestContext()) -> HTTPRequest {
        let body = switch self {
        case .simple: #"{"model": "test", "input": [[[[\#(x), 0], [0, 0]]]]}"#
        case .v2: #"{"inputs": [{"name": "input", "shape": [1, 1, 2, 2], "datatype": "FP32", "data": [\#(x), 0, 0, 0]}]}"#
        }
        return HTTPRequest(method: "POST", path: rawValue, headers: ["content-type": "application/json"],
                           body: Array(body.utf8), context: context)
    }

    /// A body the test model refuses once it is known (a shape it does not take).
    var misfitRequest: HTTPRequest {
        let body = switch self {
        case .simple: #"{"model": "test", "input": [[[0, 0, 0]]]}"#
        case .v2: #"{"inputs": [{"name": "input", "shape": [1, 3], "datatype": "FP32", "data": [0, 0, 0]}]}"#
        }
        return HTTPRequest(method: "POST", path: rawValue, body: Array(body.utf8))
    }
}

/// An executor that answers every job at once with `rejection`.
struct RejectingExecutor: InferenceExecutor {
    let rejection: SchedulingRejection
    func submit(_ job: InferenceJob, completion: @escaping @Sendable (InferenceCompletion) -> Void) {
        completion(InferenceCompletion(result: .failure(rejection), queueNanoseconds: 0, computeNanoseconds: 0))
    }
}

extension APIHarness {
    var metricsText: String { self.get("/metrics").text }

    func count(_ series: String) -> String? {
        metricsText.split(separator: "\n").first { $0.hasPrefix(series + " ") }.map { String($0.dropFirst(series.count + 1)) }
    }
}

@Suite struct InferencePipelineTests {
    static let rejections: [SchedulingRejection] = [
        SchedulingRejection(reason: .queueFull, status: 429, message: "model test has 4 requests queued"),
        SchedulingRejection(reason: .timeout, status: 504, message: "the deadline passed", retryAfterSeconds: nil),
        SchedulingRejection(reason: .shutdown, status: 503, message: "the server is shutting down"),
        .clientGone,
    ]

    @Test(arguments: InferenceAPI.allCases)
    func successIsAnsweredAndRecordedOnce(api: InferenceAPI) {
        let h = APIHarness()
        let r = h.call(api.request(2))
        #expect(r.status == 200)
        #expect(r.header("Server-Timing")?.hasPrefix("queue;dur=") == true)
        #expect(h.count(#"dyserve_requests_total{model="test",code="200"}"#) == "1")
        #expect(h.count(#"dyserve_inferences_total{model="test"}"#) == "1")
        #expect(h.count(#"dyserve_in_flight_requests{model="test"}"#) == "0.0")
        #expect(h.count(#"dyserve_request_duration_seconds_count{model="test"}"#) == "1")
        let stats = h.context.statistics.snapshot(model: "test")
        #expect(stats.success.count == 1 && stats.fail.count == 0 && stats.executionCount == 1 && stats.inferenceCount == 1)
        #expect(h.context.traces.usage(model: "test").entries == 1)
    }

    @Test(arguments: InferenceAPI.allCases, rejections)
    func everyRejectionReasonIsAnsweredAndCountedAlike(api: InferenceAPI, rejection: SchedulingRejection) {
        let h = APIHarness(executor: RejectingExecutor(rejection: rejection))
        let r = h.call(api.request())
        #expect(r.status == rejection.status)
        #expect(r.errorMessage == rejection.message)
        #expect(r.header("Content-Type") == "application/json")
        #expect(r.header("Retry-After") == rejection.retryAfterSeconds.map(String.init))
        #expect(r.header("X-Request-Id") != nil)
        #expect(h.count(#"dyserve_rejections_total{model="test",reason="\#(rejection.reason.rawValue)"}"#) == "1")
        #expect(h.count(#"dyserve_requests_total{model="test",code="\#(rejection.status)"}"#) == "1")
        for other in RejectionReason.allCases where other != rejection.reason {
            #expect(h.count(#"dyserve_rejections_total{model="test",reason="\#(other.rawValue)"}"#) == "0")
        }
        #expect(h.context.statistics.snapshot(model: "test").fail.count == 1)
    }

    /// `/infer` once counted this and V2 did not: the registry refusing during shutdown is a
    /// `shutdown` rejection on both.
    @Test(arguments: InferenceAPI.allCases)
    func registryShutdownIsAShutdownRejectionOnBothAPIs(api: InferenceAPI) {
        let h = APIHarness()
        h.context.registry.beginShutdown()
        let r = h.call(api.request())
        #expect(r.status == 503 && r.header("Retry-After") == "1")
        #expect(r.errorMessage == "the server is shutting down")
        #expect(h.count(#"dyserve_rejections_total{model="test",reason="shutdown"}"#) == "1")
        #expect(h.count(#"dyserve_requests_total{model="test",code="503"}"#) == "1")
    }

    @Test(arguments: InferenceAPI.allCases)
    func aBodyTheModelRefusesIs400CountedForTheModel(api: InferenceAPI) {
        let h = APIHarness()
        let r = h.call(api.misfitRequest)
        #expect(r.status == 400)
        #expect(!r.errorMessage.isEmpty)
        #expect(h.count(#"dyserve_requests_total{model="test",code="400"}"#) == "1")
        #expect(h.context.statistics.snapshot(model: "test").fail.count == 1)
    }

    @Test(arguments: InferenceAPI.allCases)
    func aModelFailureIs500AndTheServiceStaysUp(api: InferenceAPI) {
        let h = APIHarness(models: ["test": BrokenModel()])
        let r = h.call(api.request())
        #expect(r.status == 500)
        #expect(r.errorMessage.contains("inference failed") && r.errorMessage.contains("Bug"))
        #expect(h.count(#"dyserve_requests_total{model="test",code="500"}"#) == "1")
        #expect(h.context.statistics.snapshot(model: "test").fail.count == 1)
        #expect(h.get("/readyz").status == 200)
    }

    @Test func anUnknownModelIs404WithoutAPerModelSeries() {
        let h = APIHarness()
        let r = h.call(HTTPRequest(method: "POST", path: "/v2/models/nope/infer", body: Array("{}".utf8)))
        #expect(r.status == 404)
        #expect(!h.metricsText.contains(#"model="nope""#))
    }
}
