import DyNN
import Foundation
import Testing
@testable import DyServe

/// `model_name` / `model_version` in a V2 body, and the JSON bodies of the health endpoints.
@Suite struct V2BodyModelAndHealthTests {
    static let input = #""inputs": [{"name": "input", "shape": [1, 1, 2, 2], "datatype": "FP32", "data": [1, 1, 0, 0]}]"#

    func infer(_ api: APIHarness, _ fields: String, path: String = "/v2/models/test/infer") -> HTTPResponse {
        api.post("{\(fields)\(fields.isEmpty ? "" : ", ")\(Self.input)}", path: path)
    }

    @Test func matchingModelNameAndVersionAreAccepted() {
        let api = APIHarness()
        defer { api.pool?.shutdown() }
        for fields in [#""model_name": "test""#, #""model_name": "test", "model_version": "1""#,
                       #""model_version": """#, ""] {
            let r = infer(api, fields)
            #expect(r.status == 200, "\(fields): \(r.text)")
        }
        let versioned = infer(api, #""model_name": "test", "model_version": "1""#, path: "/v2/models/test/versions/1/infer")
        #expect(versioned.status == 200, "\(versioned.text)")
    }

    @Test func disagreeingModelNameOrVersionIs400() {
        let api = APIHarness()
        defer { api.pool?.shutdown() }
        let name = infer(api, #""model_name": "other""#)
        #expect(name.status == 400)
        #expect(name.errorMessage.contains("model_name \"other\" in the body does not match model \"test\" in the path"))
        let served = infer(api, #""model_version": "2""#)
        #expect(served.status == 400 && served.errorMessage.contains("version \"1\" that model \"test\" serves"))
        let path = infer(api, #""model_version": "2""#, path: "/v2/models/test/versions/1/infer")
        #expect(path.status == 400 && path.errorMessage.contains("does not match version \"1\" in the path"))
        for bad in [#""model_name": 7"#, #""model_version": null"#] {
            let r = infer(api, bad)
            #expect(r.status == 400 && r.errorMessage.contains("expected a string"), "\(bad): \(r.text)")
        }
    }

    @Test func healthEndpointsAnswerJSON() {
        let registry = ModelRegistry(names: ["test"])
        let api = APIHarness(registry: registry)
        defer { api.pool?.shutdown() }
        let live = api.get("/v2/health/live")
        #expect(live.status == 200 && live.json["live"] as? Bool == true)
        #expect(live.header("content-type") == "application/json")
        let loading = api.get("/v2/health/ready")
        #expect(loading.status == 503 && loading.json["ready"] as? Bool == false)
        #expect(loading.errorMessage.contains("model test is loading") && loading.header("retry-after") == "1")
        registry.setLoaded("test", model: TestModel(), loadSeconds: 0)
        let ready = api.get("/v2/health/ready")
        #expect(ready.status == 200 && ready.json["ready"] as? Bool == true && ready.json["error"] == nil)
        let model = api.get("/v2/models/test/ready")
        #expect(model.status == 200 && model.json["ready"] as? Bool == true && model.json["name"] as? String == "test")
        registry.beginShutdown()
        let stopping = api.get("/v2/health/ready")
        #expect(stopping.status == 503 && stopping.errorMessage.contains("shutting down"))
        #expect(api.get("/v2/health/live").json["live"] as? Bool == true)
    }
}
