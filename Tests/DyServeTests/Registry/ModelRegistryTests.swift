import Testing
@testable import DyServe

@Suite struct ModelRegistryTests {
    @Test func readyOnlyWhenEveryModelLoaded() throws {
        let registry = ModelRegistry(names: ["a", "b"])
        #expect(!registry.readiness().ready)
        #expect(throws: RequestError.unavailable("model \"a\" is still loading")) { try registry.model(named: "a") }
        registry.setLoaded("a", model: TestModel(), loadSeconds: 0.1)
        #expect(registry.readiness().reasons == ["model b is loading"])
        registry.setFailed("b", reason: "bad weights")
        #expect(registry.readiness().reasons == ["model b failed to load: bad weights"])
        registry.setLoaded("b", model: TestModel(), loadSeconds: 0.1)
        #expect(registry.readiness().ready)
        _ = try registry.model(named: "b")
        let error = #expect(throws: RequestError.self) { try registry.model(named: "zzz") }
        #expect(error?.status == 404)
        registry.beginShutdown()
        #expect(!registry.readiness().ready)
        #expect(throws: RequestError.self) { try registry.model(named: "a") }
    }

    @Test func noModelsIsNotReady() {
        #expect(!ModelRegistry(names: []).readiness().ready)
    }
}
