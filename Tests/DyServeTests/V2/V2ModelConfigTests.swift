import DyNN
import Foundation
import Testing
@testable import DyServe

/// `GET /v2/models/{m}[/versions/{v}]/config` in Triton's JSON form.
@Suite struct V2ModelConfigTests {
    /// A model whose inputs have a fixed batch of 2: Triton's `max_batch_size` 0 case.
    struct FixedBatchModel: ServableModel {
        var info: ServedModelInfo {
            ServedModelInfo(name: "fixed", version: "3", inputs: [ServedTensorSpec(name: "x", shape: [2, 4])],
                            outputs: [ServedTensorSpec(name: "y", shape: [2, 4])], temperature: 30,
                            routing: ["softmax", "sigmoid"])
        }
        func infer(_ inputs: [Tensor], options: RunOptions) throws -> InferenceOutcome {
            InferenceOutcome(outputs: inputs, trace: [])
        }
    }

    @Test func configOverHTTPHandlerHasTritonsFields() throws {
        let api = APIHarness()
        defer { api.pool?.shutdown() }
        for path in ["/v2/models/test/config", "/v2/models/test/versions/1/config"] {
            let r = api.get(path)
            #expect(r.status == 200 && r.header("content-type") == "application/json", "\(path)")
            let c = r.json
            #expect(c["name"] as? String == "test" && c["platform"] as? String == "dyserve" && c["backend"] as? String == "dyserve")
            #expect(c["max_batch_size"] as? Int == SchedulerSettings().maxBatchSize)
            let input = try #require((c["input"] as? [[String: Any]])?.first)
            #expect(input["name"] as? String == "input" && input["data_type"] as? String == "TYPE_FP32")
            #expect(input["dims"] as? [Int] == [1, 2, 2])
            let output = try #require((c["output"] as? [[String: Any]])?.first)
            #expect(output["name"] as? String == "probs" && output["dims"] as? [Int] == [3])
            let batching = try #require(c["dynamic_batching"] as? [String: Any])
            #expect(batching["preferred_batch_size"] as? [Int] == [SchedulerSettings().maxBatchSize])
            #expect(batching["max_queue_delay_microseconds"] as? Int == 0)
            let group = try #require((c["instance_group"] as? [[String: Any]])?.first)
            #expect(group["kind"] as? String == "KIND_CPU" && group["count"] as? Int == 1)
            let parameters = try #require(c["parameters"] as? [String: [String: String]])
            #expect(parameters["temperature"]?["string_value"] == "1.0")
            #expect(parameters["routing"] == nil)
        }
        #expect(api.get("/v2/models/test/versions/2/config").status == 404)
        #expect(api.get("/v2/models/nope/config").status == 404)
        let post = api.call(HTTPRequest(method: "POST", path: "/v2/models/test/config"))
        #expect(post.status == 405 && post.header("allow") == "GET")
    }

    @Test func loadingModelHasNoConfigYet() {
        let api = APIHarness(registry: ModelRegistry(names: ["test"]))
        defer { api.pool?.shutdown() }
        let r = api.get("/v2/models/test/config")
        #expect(r.status == 503 && r.errorMessage.contains("still loading"))
    }

    @Test func batchingOffFixedBatchAndInstances() {
        let off = V2ModelConfig(model: TestModel(), scheduling: SchedulerSettings(maxBatchSize: 1, maxQueueDelayMicroseconds: 500), cores: 4)
        #expect(off.maxBatchSize == 1 && off.dynamicBatching == nil && off.instanceCount == 4)
        let on = V2ModelConfig(model: TestModel(), scheduling: SchedulerSettings(maxBatchSize: 16, maxQueueDelayMicroseconds: 500), cores: 4)
        #expect(on.dynamicBatching == V2ModelConfig.DynamicBatching(preferredBatchSizes: [16], maxQueueDelayMicroseconds: 500))
        let fixed = V2ModelConfig(model: FixedBatchModel(), scheduling: SchedulerSettings(maxBatchSize: 16), cores: 4)
        #expect(fixed.maxBatchSize == 0 && fixed.dynamicBatching == nil)
        #expect(fixed.inputs == [V2ModelConfig.Tensor(name: "x", dataType: "TYPE_FP32", dims: [2, 4])])
        #expect(fixed.parameters.map(\.key) == ["temperature", "routing"] && fixed.parameters[1].value == "softmax,sigmoid")
        let json = (try? JSONSerialization.jsonObject(with: Data(V2ModelConfigEncoder.encode(fixed)))) as? [String: Any]
        #expect(json?["dynamic_batching"] == nil && json?["max_batch_size"] as? Int == 0)
        let wide = ReplicatedModel(replicas: [DyNNServableModelStub(threads: 2)])
        #expect(V2ModelConfig(model: wide, scheduling: SchedulerSettings(), cores: 5).instanceCount == 2)
    }

    /// A model that computes on two threads per execution.
    struct DyNNServableModelStub: ServableModel {
        var threads: Int
        var info: ServedModelInfo { TestModel().info }
        var intraOpThreads: Int { threads }
        func infer(_ inputs: [Tensor], options: RunOptions) throws -> InferenceOutcome {
            try TestModel().infer(inputs, options: options)
        }
    }
}
