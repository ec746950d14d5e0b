import Foundation
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

@Suite struct ModelLoadingTests {
    struct Missing: Error, CustomStringConvertible {
        var description: String { "no model.json" }
    }

    @Test func loadAllRecordsEachOutcomeInOrder() {
        let registry = ModelRegistry(names: ["good", "bad"])
        var reports: [ModelRegistry.LoadReport] = []
        let ok = registry.loadAll(using: { name in
            guard name == "good" else { throw Missing() }
            return TestModel(name: name)
        }, report: { reports.append($0) })
        #expect(!ok)
        #expect(reports.map(\.name) == ["good", "bad"])
        #expect((try? reports[0].result.get())?.name == "good")
        #expect(registry.readiness().reasons == ["model bad failed to load: no model.json"])
    }

    @Test func discoversModelFolders() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dyserve-discover-\(UUID())")
        defer { try? FileManager.default.removeItem(at: dir) }
        for name in ["b", "a", ".hidden"] {
            let sub = dir.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: sub, withIntermediateDirectories: true)
            try Data("{}".utf8).write(to: sub.appendingPathComponent("model.json"))
        }
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("empty"), withIntermediateDirectories: true)
        #expect(ModelDirectory.discover(dir) == ["a", "b"])
        #expect(ModelDirectory.discover(dir.appendingPathComponent("nope")).isEmpty)
    }
}
